#include "base/util/thread_stack.h"

#include <pthread.h>
#include <sys/mman.h>

#include <cstddef>

namespace kvmm {

namespace {

constexpr size_t kStackBytes = (8u << 20) - (64u << 10);

}  // namespace

void set_default_thread_stack() {
  pthread_attr_t attr;
  if (::pthread_attr_init(&attr) != 0) return;
  if (::pthread_attr_setstacksize(&attr, kStackBytes) == 0) ::pthread_setattr_default_np(&attr);
  ::pthread_attr_destroy(&attr);
}

void keep_stack_in_small_pages() {
  pthread_attr_t attr;
  if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return;
  void* stack = nullptr;
  size_t size = 0;
  if (::pthread_attr_getstack(&attr, &stack, &size) == 0 && stack != nullptr) {
    ::madvise(stack, size, MADV_NOHUGEPAGE);  // A hint: failing costs memory, not correctness.
  }
  ::pthread_attr_destroy(&attr);
}

}  // namespace kvmm
