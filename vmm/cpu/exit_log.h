#pragma once
// A line per VM exit that reached kvmm, for learning and for tests that pin
// down the exact sequence of exits. Formats (one per exit, hex values):
//   vcpu0 pio-out port=0x3f8 size=1 count=1 data=0x48
//   vcpu0 pio-in port=0x520 size=4 count=1 data=0x12345678
//   vcpu0 mmio-write addr=0xd0000000 size=4 data=0xcafe
//   vcpu0 mmio-read addr=0xd0000000 size=4 data=0xcafe
//   vcpu0 hlt | shutdown | fail-entry | internal-error | exit-reason=N
// `data` of a `rep ins/outs` exit lists `count` comma-separated elements.
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace kvmm {

class ExitLog {
 public:
  // Path "-" means stderr. Throws Error if the file cannot be created.
  explicit ExitLog(const std::string& path);
  ExitLog(const ExitLog&) = delete;
  ExitLog& operator=(const ExitLog&) = delete;
  ~ExitLog();

  void record(uint32_t vcpu, std::string_view line);

 private:
  std::mutex mutex_;  // Guards file_: vCPU threads record concurrently.
  std::FILE* file_;
  bool owned_;
};

}  // namespace kvmm
