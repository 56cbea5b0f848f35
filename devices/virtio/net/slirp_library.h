#pragma once
// libslirp, opened on the first --net user device rather than linked: it
// and the GLib it needs would otherwise be loaded into every VM (about
// 0.7 MiB of resident pages in the nested KVM host, docs/dependencies.md).
// The functions kvmm calls, with libslirp.h's own types.
#include <slirp/libslirp.h>

namespace kvmm {

struct SlirpLibrary {
  decltype(&::slirp_new) new_stack;
  decltype(&::slirp_add_hostfwd) add_hostfwd;
  decltype(&::slirp_cleanup) cleanup;
  decltype(&::slirp_pollfds_fill) pollfds_fill;
  decltype(&::slirp_pollfds_poll) pollfds_poll;
  decltype(&::slirp_input) input;
  decltype(&::slirp_handle_timer) handle_timer;
};

// Loads libslirp.so.0 once; throws Error naming it and the package to
// install. Call it before seccomp filters and --jail (the machine is built
// then): loading opens files under /usr/lib.
const SlirpLibrary& slirp_library();

}  // namespace kvmm
