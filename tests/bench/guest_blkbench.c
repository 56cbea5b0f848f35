/* In-guest disk benchmark for tools/bench-blk: sequential 1 MiB writes (the
 * first pass over a fresh sparse image, then an overwrite pass over the same
 * range, whose blocks the host has already allocated) and reads, then random
 * 4 KiB reads, all O_DIRECT on a whole block device, each
 * for a fixed amount of data. Prints one "blkbench NAME VALUE UNIT" line per
 * result. Built static on the host (gcc -static) and put into the guest's
 * initramfs, so the guest needs nothing else.
 * Usage: guest_blkbench DEVICE SEQ_MIB RANDOM_READS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *stat_path; /* /sys/block/NAME/stat */

/* Requests the guest's block layer has completed so far, reads or writes
 * (fields 1 and 5 of /sys/block/NAME/stat), or -1 where it cannot tell. */
static long completed_requests(int write_pass) {
  unsigned long f[5];
  FILE *file = fopen(stat_path, "r");
  if (file == NULL) return -1;
  int n = fscanf(file, "%lu %lu %lu %lu %lu", &f[0], &f[1], &f[2], &f[3], &f[4]);
  fclose(file);
  return n == 5 ? (long)f[write_pass ? 4 : 0] : -1;
}

static int sequential(int fd, int write_pass, const char *name, long mib, void *buf) {
  const size_t chunk = 1 << 20;
  long requests_before = completed_requests(write_pass);
  double start = now();
  for (long i = 0; i < mib; i++) {
    ssize_t n = write_pass ? pwrite(fd, buf, chunk, (off_t)i * chunk)
                           : pread(fd, buf, chunk, (off_t)i * chunk);
    if (n != (ssize_t)chunk) {
      perror(write_pass ? "blkbench: write" : "blkbench: read");
      return 1;
    }
  }
  if (write_pass && fdatasync(fd) != 0) {
    perror("blkbench: fdatasync");
    return 1;
  }
  double seconds = now() - start;
  printf("blkbench %s %.1f MiB/s\n", name, mib / seconds);
  /* How many requests the driver made of each 1 MiB: more than one means
   * the device's limits (seg_max, size_max) split them. Flushes have
   * counters of their own. */
  long requests_after = completed_requests(write_pass);
  if (requests_before >= 0 && requests_after >= requests_before) {
    printf("blkbench %s-requests %.2f per-MiB\n", name,
           (double)(requests_after - requests_before) / mib);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s DEVICE SEQ_MIB RANDOM_READS\n", argv[0]);
    return 2;
  }
  long mib = atol(argv[2]), reads = atol(argv[3]);
  static char path[256];
  const char *base = strrchr(argv[1], '/');
  snprintf(path, sizeof(path), "/sys/block/%s/stat", base ? base + 1 : argv[1]);
  stat_path = path;
  int fd = open(argv[1], O_RDWR | O_DIRECT);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  uint64_t bytes = 0;
  if (ioctl(fd, BLKGETSIZE64, &bytes) != 0 || bytes < (uint64_t)mib << 20) {
    fprintf(stderr, "blkbench: %s is smaller than %ld MiB\n", argv[1], mib);
    return 1;
  }
  void *buf;
  if (posix_memalign(&buf, 4096, 1 << 20) != 0) return 1;
  memset(buf, 0x5a, 1 << 20);
  if (sequential(fd, 1, "seq-write-1M", mib, buf) ||
      sequential(fd, 1, "seq-overwrite-1M", mib, buf) ||
      sequential(fd, 0, "seq-read-1M", mib, buf))
    return 1;

  uint64_t blocks = bytes / 4096, state = 0x9e3779b97f4a7c15ull;
  double start = now();
  for (long i = 0; i < reads; i++) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17; /* xorshift64 */
    if (pread(fd, buf, 4096, (off_t)(state % blocks) * 4096) != 4096) {
      perror("blkbench: random read");
      return 1;
    }
  }
  printf("blkbench rand-read-4k %.0f IOPS\n", reads / (now() - start));
  return 0;
}
