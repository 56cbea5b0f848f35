#pragma once
// The listening API socket of one VM, and the claim on its name.
//
// The name is held by an open-file-description lock on SOCKET.lock for the
// life of the process: a second VM with the same name is refused even while
// the first is still starting, and a socket left by a VM that died (SIGKILL)
// is replaced, because no live process holds its lock. The socket is 0600 in
// a 0700 directory; it and the lock file are removed by the destructor, the
// socket also by remove_after_crash() from kvmm's fatal-signal handlers. A
// lock file left by a crash is harmless: no one holds its lock.
#include <filesystem>

#include "base/util/unique_fd.h"

namespace kvmm {

class ApiListener {
 public:
  // Throws Error for the user: the name is taken (by a live VM), the
  // directory is not private, the path is too long for a unix socket.
  static ApiListener open(const std::filesystem::path& socket_path);

  ApiListener(ApiListener&& other) noexcept;
  ApiListener& operator=(ApiListener&&) = delete;
  ~ApiListener();

  int fd() const { return socket_.get(); }
  const std::filesystem::path& path() const { return path_; }

  // Async-signal-safe: unlinks the socket of the listener that is open in
  // this process, if any.
  static void remove_after_crash();

  // After --jail's chroot the paths name files inside the jail, not these:
  // from then on neither the destructors nor remove_after_crash() unlink
  // anything. The sockets and lock files stay behind, as after a SIGKILL,
  // and are replaced by the next VM of the same name; kvmm list skips them.
  static void leave_files_in_place();

 private:
  ApiListener(std::filesystem::path path, UniqueFd lock, UniqueFd socket);

  std::filesystem::path path_;
  UniqueFd lock_;
  UniqueFd socket_;
};

}  // namespace kvmm
