#pragma once
// Who is on the other end of a unix socket (SO_PEERCRED), for the API and
// the console: only the VM's owner and root are served.
#include <sys/types.h>

namespace kvmm {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  bool allowed = false;  // uid is this process's effective uid, or root.
};

// allowed is false when the kernel will not say.
Peer peer_of(int socket_fd);

}  // namespace kvmm
