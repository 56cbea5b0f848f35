// The in-guest half of tools/bench-exit-compare: a static Linux user program
// that times single VM exits with rdtsc and prints one result line, so the
// same binary measures every VMM it runs under.
//
//   exit_cost ITERATIONS PORT...
//
// For cpuid (leaf 0, handled inside KVM, never reaching the VMM) and for a
// one-byte outb to each PORT (an exit to the VMM's user space when no
// ioeventfd is bound there), it times ITERATIONS single instructions, each
// between two fenced rdtsc reads, after 10% warm-up iterations, and prints
//
//   exit-cost: tsc_khz=K iterations=N cpuid=C out_0x520=C out_0x530=C ...
//
// with C the median cycles of one instruction plus the rdtsc pair around it
// (the pair's own cost is the same under every VMM and cancels in the
// VMM's share, outb minus cpuid). tsc_khz is the TSC rate against
// CLOCK_MONOTONIC_RAW over the whole run; under nesting it is approximate.
// Exit status 0 on success; 1 with one line on stderr otherwise.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <time.h>

enum { kMaxPorts = 8, kMaxIterations = 10000000 };

static inline uint64_t fenced_rdtsc(void) {
  uint32_t lo, hi;
  // lfence before: earlier instructions (the exit) have completed; after:
  // the timed instruction does not start before the read.
  __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
  return (uint64_t)hi << 32 | lo;
}

static inline void do_cpuid(void) {
  uint32_t a = 0, b, c = 0, d;
  __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
}

static inline void do_outb(uint16_t port) {
  __asm__ volatile("outb %b0, %w1" ::"a"(0x5a), "Nd"(port) : "memory");
}

static int compare_u64(const void* a, const void* b) {
  const uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return (x > y) - (x < y);
}

static uint64_t median(uint64_t* samples, long n) {
  qsort(samples, (size_t)n, sizeof *samples, compare_u64);
  return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

// port < 0 means cpuid.
static uint64_t measure(long port, long iterations, uint64_t* samples) {
  const long warmup = iterations / 10 + 1;
  for (long i = -warmup; i < iterations; ++i) {
    const uint64_t start = fenced_rdtsc();
    if (port < 0) {
      do_cpuid();
    } else {
      do_outb((uint16_t)port);
    }
    const uint64_t end = fenced_rdtsc();
    if (i >= 0) samples[i] = end - start;
  }
  return median(samples, iterations);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_long(const char* text, long min, long max, long* out) {
  char* end;
  errno = 0;
  const long value = strtol(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) return 0;
  *out = value;
  return 1;
}

int main(int argc, char** argv) {
  long iterations, ports[kMaxPorts];
  const int nports = argc - 2;
  if (argc < 3 || nports > kMaxPorts || !parse_long(argv[1], 1, kMaxIterations, &iterations)) {
    fprintf(stderr, "exit-cost: usage: exit_cost ITERATIONS(1-%d) PORT... (1-%d ports)\n",
            kMaxIterations, kMaxPorts);
    return 1;
  }
  for (int i = 0; i < nports; ++i) {
    if (!parse_long(argv[i + 2], 0, 0xffff, &ports[i])) {
      fprintf(stderr, "exit-cost: port '%s' is not a number in 0-0xffff\n", argv[i + 2]);
      return 1;
    }
  }
  // iopl(3) (emulated since Linux 5.5 with a full TSS I/O bitmap) lets this
  // process reach every port; needs root and CONFIG_X86_IOPL_IOPERM.
  if (iopl(3) != 0) {
    fprintf(stderr, "exit-cost: iopl(3) failed: %s; run as root on a kernel with "
            "CONFIG_X86_IOPL_IOPERM\n", strerror(errno));
    return 1;
  }
  uint64_t* samples = malloc((size_t)iterations * sizeof *samples);
  if (samples == NULL) {
    fprintf(stderr, "exit-cost: no memory for %ld samples; use fewer iterations\n", iterations);
    return 1;
  }

  const uint64_t tsc_start = fenced_rdtsc(), ns_start = now_ns();
  const uint64_t cpuid_cycles = measure(-1, iterations, samples);
  uint64_t out_cycles[kMaxPorts];
  for (int i = 0; i < nports; ++i) out_cycles[i] = measure(ports[i], iterations, samples);
  const uint64_t tsc_end = fenced_rdtsc(), ns_end = now_ns();
  const double elapsed_ns = (double)(ns_end - ns_start);
  const uint64_t tsc_khz =
      elapsed_ns > 0 ? (uint64_t)((double)(tsc_end - tsc_start) * 1e6 / elapsed_ns) : 0;

  printf("exit-cost: tsc_khz=%llu iterations=%ld cpuid=%llu", (unsigned long long)tsc_khz,
         iterations, (unsigned long long)cpuid_cycles);
  for (int i = 0; i < nports; ++i) {
    printf(" out_0x%lx=%llu", ports[i], (unsigned long long)out_cycles[i]);
  }
  printf("\n");
  free(samples);
  return 0;
}
