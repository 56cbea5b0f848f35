#pragma once
// The signals that stop kvmm cleanly (SIGINT, SIGTERM, SIGHUP): main()
// blocks them before any thread exists, and the machine's main loop takes
// them from a signalfd, so no other thread ever receives one.
#include <signal.h>

namespace kvmm {

inline sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace kvmm
