#include "app/api/peer_credentials.h"

#include <sys/socket.h>
#include <unistd.h>

namespace kvmm {

Peer peer_of(int socket_fd) {
  ucred cred{};
  socklen_t size = sizeof cred;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) return Peer{};
  return Peer{cred.pid, cred.uid, cred.uid == ::geteuid() || cred.uid == 0};
}

}  // namespace kvmm
