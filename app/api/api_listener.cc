#include "app/api/api_listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "app/api/run_dir.h"
#include "base/util/error.h"

namespace kvmm {

namespace {

// Pending connections the kernel holds before the API thread accepts them.
constexpr int kBacklog = 16;

// For remove_after_crash(): plain char arrays, readable from a signal handler.
char g_socket_path[sizeof(sockaddr_un::sun_path)];
// leave_files_in_place() was called: a chroot changed what the paths name.
std::atomic<bool> g_leave_files{false};

std::string lock_path_of(const std::filesystem::path& socket) { return socket.string() + ".lock"; }

// Locks `lock_path`, creating it. The holder removes it at exit, so a lock
// taken on a file that was removed meanwhile (opened just before) holds
// nothing: the file at the path must still be the one locked, else retry.
UniqueFd claim_lock(const std::string& lock_path, const std::string& socket_path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock.valid()) throw_errno("cannot create the lock file " + lock_path);
    struct flock claim {};
    claim.l_type = F_WRLCK;
    claim.l_whence = SEEK_SET;
    if (::fcntl(lock.get(), F_OFD_SETLK, &claim) != 0) {
      if (errno == EAGAIN || errno == EACCES) {
        throw Error("a running VM already uses the API socket " + socket_path +
                    ": choose another --name (kvmm list shows the running VMs)");
      }
      throw_errno("cannot lock " + lock_path);
    }
    struct stat held {};
    struct stat at_path {};
    if (::fstat(lock.get(), &held) == 0 && ::stat(lock_path.c_str(), &at_path) == 0 &&
        held.st_dev == at_path.st_dev && held.st_ino == at_path.st_ino) {
      return lock;
    }
  }
  throw Error("cannot claim " + lock_path + ": it keeps being replaced; is another kvmm starting "
              "with the same name in a loop?");
}

}  // namespace

ApiListener ApiListener::open(const std::filesystem::path& socket_path) {
  const std::string path = socket_path.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    throw Error("API socket path " + path + " is longer than a unix socket allows (" +
                std::to_string(sizeof address.sun_path - 1) + " bytes): use a shorter one");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (socket_path.has_parent_path()) ensure_private_dir(socket_path.parent_path());

  const std::string lock_path = lock_path_of(socket_path);
  UniqueFd lock = claim_lock(lock_path, path);
  // The lock is ours, so whatever socket is there belongs to a dead VM.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw_errno("cannot replace the stale API socket " + path);
  }
  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket.valid()) throw_errno("cannot create the API socket");
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw_errno("cannot bind the API socket " + path);
  }
  // In a 0700 directory; 0600 too, for a --api-socket in a shared one.
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(socket.get(), kBacklog) != 0) {
    const int saved = errno;
    ::unlink(path.c_str());
    throw_errno("cannot set up the API socket " + path, saved);
  }
  std::memcpy(g_socket_path, path.c_str(), path.size() + 1);
  return ApiListener(socket_path, std::move(lock), std::move(socket));
}

ApiListener::ApiListener(std::filesystem::path path, UniqueFd lock, UniqueFd socket)
    : path_(std::move(path)), lock_(std::move(lock)), socket_(std::move(socket)) {}

ApiListener::ApiListener(ApiListener&& other) noexcept
    : path_(std::move(other.path_)), lock_(std::move(other.lock_)), socket_(std::move(other.socket_)) {
  other.path_.clear();
}

ApiListener::~ApiListener() {
  if (path_.empty() || !socket_.valid() || g_leave_files.load(std::memory_order_acquire)) return;
  ::unlink(path_.c_str());
  // While still locked: a process that opened it meanwhile sees it gone
  // (claim_lock) and makes its own.
  ::unlink(lock_path_of(path_).c_str());
  g_socket_path[0] = '\0';
}

void ApiListener::remove_after_crash() {
  if (g_leave_files.load(std::memory_order_acquire)) return;
  if (g_socket_path[0] != '\0') ::unlink(g_socket_path);
}

void ApiListener::leave_files_in_place() { g_leave_files.store(true, std::memory_order_release); }

}  // namespace kvmm
