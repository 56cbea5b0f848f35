#pragma once
// The serial console of a VM whose console is a socket (`--serial socket`,
// the default with --detach): `kvmm console NAME` attaches to RUNDIR/
// NAME.console, as `virsh console` does.
//
// The machine's COM1 reads and writes one end of a socket pair; this relay,
// on its own thread, owns the other end. Guest output goes to the attached
// client, to --console-log's file, and into a bounded history (the last
// kHistoryBytes) that a client sees first when it attaches, so output
// written while no one was attached is not lost. One client at a time (a
// second is told the console is busy); only the VM's owner and root are
// served (SO_PEERCRED). A client that does not read loses output beyond
// kClientBacklog, never stalls the guest.
//
// Threads: constructed and destroyed on the main thread; the destructor
// stops and joins the relay's thread.
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "app/api/api_listener.h"
#include "base/util/event_fd.h"
#include "base/util/unique_fd.h"

namespace kvmm {

class ConsoleRelay {
 public:
  static constexpr size_t kHistoryBytes = 64 * 1024;
  static constexpr size_t kClientBacklog = 256 * 1024;

  // Listens on `socket_path` (claimed like an API socket); `log_path`, when
  // given, receives every byte of guest output (appended, never through a
  // symbolic link). Throws Error for the user.
  ConsoleRelay(const std::filesystem::path& socket_path,
               const std::optional<std::string>& log_path);
  ~ConsoleRelay();
  ConsoleRelay(const ConsoleRelay&) = delete;
  ConsoleRelay& operator=(const ConsoleRelay&) = delete;

  // The machine's end: COM1's input and output (VmConfig::console_input and
  // console_output).
  int machine_fd() const { return machine_end_.get(); }
  const std::filesystem::path& path() const { return listener_.path(); }

  // Starts the relay's thread; before run(), after the machine is built.
  void start();

 private:
  void serve() noexcept;

  ApiListener listener_;
  UniqueFd machine_end_;
  UniqueFd relay_end_;
  UniqueFd log_;
  EventFd stop_;
  std::thread thread_;
};

}  // namespace kvmm
