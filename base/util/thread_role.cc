#include "base/util/thread_role.h"

#include <atomic>

#include "base/util/thread_stack.h"

namespace kvmm {

namespace {

std::atomic<ThreadStartHook> g_hook{nullptr};

}  // namespace

void set_thread_start_hook(ThreadStartHook hook) { g_hook.store(hook, std::memory_order_release); }

void on_thread_start(ThreadRole role) {
  keep_stack_in_small_pages();
  if (ThreadStartHook hook = g_hook.load(std::memory_order_acquire)) hook(role);
}

}  // namespace kvmm
