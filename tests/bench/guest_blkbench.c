/* In-guest disk benchmark for tools/bench-blk: sequential 1 MiB writes and
 * reads, then random 4 KiB reads, all O_DIRECT on a whole block device, each
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

static int sequential(int fd, int write_pass, long mib, void *buf) {
  const size_t chunk = 1 << 20;
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
  printf("blkbench seq-%s-1M %.1f MiB/s\n", write_pass ? "write" : "read", mib / seconds);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s DEVICE SEQ_MIB RANDOM_READS\n", argv[0]);
    return 2;
  }
  long mib = atol(argv[2]), reads = atol(argv[3]);
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
  if (sequential(fd, 1, mib, buf) || sequential(fd, 0, mib, buf)) return 1;

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
