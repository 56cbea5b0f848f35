// Keeps the tag [threads] honest: tools/test's tsan stage runs only the test
// cases that carry it (tests/unit/CMakeLists.txt), so a test case that starts
// a thread without it would never be checked for races. In a tree without
// sanitizers this file counts pthread_create calls (std::thread and kvmm's
// own threads both come here: the executable's definition comes before
// libc's) and ends a test case that started one untagged with a message.
// Sanitizer trees leave it out: their runtimes intercept pthread_create too.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <catch2/catch.hpp>

namespace {

std::atomic<unsigned> threads_started{0};

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

class ThreadTagCheck : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo&) override { at_start_ = threads_started.load(); }

  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    const auto& tags = stats.testInfo.tags;
    if (threads_started.load() == at_start_ ||
        std::find(tags.begin(), tags.end(), "threads") != tags.end()) {
      return;
    }
    std::fprintf(stderr,
                 "test case \"%s\" starts a thread but is not tagged [threads]: add the tag, so "
                 "the TSan stage (tools/test) runs it\n",
                 stats.testInfo.name.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }

 private:
  unsigned at_start_ = 0;
};

}  // namespace

CATCH_REGISTER_LISTENER(ThreadTagCheck)

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                              void* (*start)(void*), void* arg) {
  static const auto real = reinterpret_cast<PthreadCreate>(dlsym(RTLD_NEXT, "pthread_create"));
  if (real == nullptr) return EAGAIN;
  threads_started.fetch_add(1);
  return real(thread, attr, start, arg);
}
