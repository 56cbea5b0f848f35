#include "devices/virtio/net/slirp_library.h"

#include "base/util/shared_library.h"

namespace kvmm {

const SlirpLibrary& slirp_library() {
  // A failure is thrown again on the next call (static initialisation is
  // retried after an exception).
  static const SlirpLibrary library = [] {
    static const SharedLibrary shared("libslirp.so.0",
                                      "--net user needs libslirp: apt-get install libslirp0");
    return SlirpLibrary{
        shared.symbol<decltype(&::slirp_new)>("slirp_new"),
        shared.symbol<decltype(&::slirp_add_hostfwd)>("slirp_add_hostfwd"),
        shared.symbol<decltype(&::slirp_cleanup)>("slirp_cleanup"),
        shared.symbol<decltype(&::slirp_pollfds_fill)>("slirp_pollfds_fill"),
        shared.symbol<decltype(&::slirp_pollfds_poll)>("slirp_pollfds_poll"),
        shared.symbol<decltype(&::slirp_input)>("slirp_input"),
        shared.symbol<decltype(&::slirp_handle_timer)>("slirp_handle_timer"),
    };
  }();
  return library;
}

}  // namespace kvmm
