#include "devices/virtio/net/slirp_backend.h"

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <future>
#include <vector>

#include "base/util/error.h"
#include "base/util/event_fd.h"
#include "base/util/log.h"
#include "base/util/rate_limited_log.h"
#include "base/util/thread_launcher.h"
#include "base/util/thread_role.h"
#include "devices/virtio/net/slirp_library.h"
#include "devices/virtio/net/virtio_net_spec.h"

namespace kvmm {

namespace {

// SlirpConfig version 4 (libslirp 4.5+): disable_dns, and timers handed
// back through slirp_handle_timer().
constexpr uint32_t kSlirpConfigVersion = 4;
static_assert(SLIRP_CONFIG_VERSION_MAX >= kSlirpConfigVersion, "libslirp 4.5 or newer is needed");
// Each end's socket buffer: room for a few hundred full frames, so a burst
// toward a guest that is busy for a moment is not dropped (the kernel caps it
// at net.core.wmem_max).
constexpr int kSocketBufferBytes = 1 << 20;
// Frames taken from the guest per round of the loop, so libslirp's own
// sockets are served between bursts.
constexpr int kFramesPerRound = 256;
constexpr size_t kEthernetHeaderSize = 14;

in_addr to_in_addr(Ipv4Address address) {
  in_addr a{};
  a.s_addr = htonl(address);
  return a;
}

int64_t monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

short poll_events(int slirp_events) {
  short events = 0;
  if (slirp_events & SLIRP_POLL_IN) events |= POLLIN;
  if (slirp_events & SLIRP_POLL_OUT) events |= POLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) events |= POLLPRI;
  if (slirp_events & SLIRP_POLL_ERR) events |= POLLERR;
  if (slirp_events & SLIRP_POLL_HUP) events |= POLLHUP;
  return events;
}

int slirp_events(short revents) {
  int events = 0;
  if (revents & POLLIN) events |= SLIRP_POLL_IN;
  if (revents & POLLOUT) events |= SLIRP_POLL_OUT;
  if (revents & POLLPRI) events |= SLIRP_POLL_PRI;
  if (revents & (POLLERR | POLLNVAL)) events |= SLIRP_POLL_ERR;
  if (revents & POLLHUP) events |= SLIRP_POLL_HUP;
  return events;
}

std::string forward_error(const HostForward& forward, int error) {
  const std::string what = "--net user,hostfwd=" + format_host_forward(forward) + ": ";
  const std::string port = std::to_string(forward.host_port);
  const std::string address = format_ipv4(forward.host_address);
  switch (error) {
    case EADDRINUSE:
      return what + "port " + port + " on " + address + " is in use: pick another hostfwd port";
    case EACCES:
    case EPERM:
      return what + "port " + port + " on " + address +
             " needs privilege (a port below 1024): pick a hostfwd port from 1024 up";
    case EADDRNOTAVAIL:
      return what + address + " is not an address of this host: give 127.0.0.1 or one of "
                              "the host's own addresses";
    default:
      return what + "cannot listen on " + address + ":" + port + ": " + std::strerror(error);
  }
}

}  // namespace

// libslirp and the slirp thread's poll loop. Everything but the constructor,
// stop() and the destructor runs on that thread.
class SlirpBackend::Stack {
 public:
  Stack(const UserNetOptions& options, std::string name, UniqueFd end)
      : lib_(slirp_library()), name_(std::move(name)), end_(std::move(end)), log_(name_ + ": ") {
    SlirpConfig config{};
    config.version = kSlirpConfigVersion;
    config.restricted = options.restricted ? 1 : 0;
    config.in_enabled = true;
    config.vnetwork = to_in_addr(options.network);
    config.vnetmask = to_in_addr(options.netmask());
    config.vhost = to_in_addr(options.host());
    config.vdhcp_start = to_in_addr(options.dhcp_start());
    config.vnameserver = to_in_addr(options.nameserver());
    config.disable_dns = !options.dns;
    // IPv4 only: the guest gets its address by DHCP (or is given one) and
    // reaches the host's IPv4 and IPv6 services through libslirp's sockets.
    config.in6_enabled = false;
    callbacks_.send_packet = &Stack::send_packet;
    callbacks_.guest_error = &Stack::guest_error;
    callbacks_.clock_get_ns = [](void*) -> int64_t { return monotonic_ns(); };
    callbacks_.timer_new = &Stack::timer_new;
    callbacks_.timer_free = &Stack::timer_free;
    callbacks_.timer_mod = &Stack::timer_mod;
    // The loop asks libslirp for its sockets each round (slirp_pollfds_fill)
    // and runs on the only thread that feeds it: nothing to register or wake.
    callbacks_.register_poll_fd = [](int, void*) {};
    callbacks_.unregister_poll_fd = [](int, void*) {};
    callbacks_.notify = [](void*) {};
    callbacks_.timer_new_opaque = &Stack::timer_new_opaque;
    slirp_ = lib_.new_stack(&config, &callbacks_, this);
    if (slirp_ == nullptr) throw Error(name_ + ": libslirp refused its configuration");
    for (const HostForward& forward : options.forwards) {
      errno = 0;
      if (lib_.add_hostfwd(slirp_, forward.protocol == ForwardProtocol::kUdp ? 1 : 0,
                              to_in_addr(forward.host_address), forward.host_port,
                              to_in_addr(options.guest_address(forward)),
                              forward.guest_port) < 0) {
        const int error = errno;
        lib_.cleanup(slirp_);
        throw Error(forward_error(forward, error));
      }
    }
  }

  ~Stack() { lib_.cleanup(slirp_); }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  const std::string& name() const { return name_; }
  void stop() { stop_.signal(); }

  // Until stop(): libslirp's sockets, frames from the device, the timers.
  void run() {
    std::vector<uint8_t> packet(kMaxPacketSize);
    bool device_open = true;
    while (true) {
      fds_.clear();
      fds_.push_back({stop_.get(), POLLIN, 0});
      fds_.push_back({device_open ? end_.get() : -1, POLLIN, 0});
      // libslirp lowers this to its TCP timers' next deadline (at most 1 s).
      uint32_t timeout_ms = UINT32_MAX;
      lib_.pollfds_fill(slirp_, &timeout_ms, &Stack::add_poll, this);
      const int64_t timer_ms = next_timer_ms();
      if (timer_ms >= 0) timeout_ms = static_cast<uint32_t>(std::min<int64_t>(timeout_ms, timer_ms));
      const int ready = ::poll(fds_.data(), fds_.size(),
                               timeout_ms == UINT32_MAX ? -1 : static_cast<int>(timeout_ms));
      if (ready < 0 && errno != EINTR) throw_errno(name_ + ": poll failed");
      if (ready > 0 && fds_[0].revents != 0) return;
      lib_.pollfds_poll(slirp_, ready < 0 ? 1 : 0, &Stack::get_revents, this);
      const short device = ready > 0 ? fds_[1].revents : 0;
      if (device & POLLIN) take_guest_frames(packet);
      // The device's end closes only after this thread is joined; anything
      // else is a broken socketpair: stop reading it instead of spinning.
      if (!(device & POLLIN) && (device & (POLLHUP | POLLERR | POLLNVAL))) {
        log_line(name_ + ": the device's end of the socketpair failed; the guest's frames "
                 "are no longer read");
        device_open = false;
      }
      fire_timers();
    }
  }

 private:
  struct Timer {
    SlirpTimerCb callback = nullptr;  // timer_new's; null for timer_new_opaque's.
    SlirpTimerId id = SLIRP_TIMER_RA;
    void* callback_opaque = nullptr;
    int64_t expire_ms = -1;  // -1: not armed.
  };

  static Stack& self(void* opaque) { return *static_cast<Stack*>(opaque); }

  void take_guest_frames(std::vector<uint8_t>& packet) {
    for (int i = 0; i < kFramesPerRound; ++i) {
      const ssize_t n = ::recv(end_.get(), packet.data(), packet.size(), MSG_DONTWAIT);
      if (n < 0) return;  // EAGAIN: all taken.
      const auto size = static_cast<size_t>(n);
      // Guest-controlled. Without offloads the driver sends a zero header
      // (§5.1.6.2): no checksum to finish, no segmentation.
      if (size < kVirtioNetHdrSize + kEthernetHeaderSize) {
        log_.log("a frame of " + std::to_string(size) + " bytes is too short; dropped");
        continue;
      }
      if (packet[kVirtioNetHdrFlagsOffset] != 0 ||
          packet[kVirtioNetHdrGsoTypeOffset] != kVirtioNetHdrGsoNone) {
        log_.log("a frame asks for an offload that was not offered; dropped");
        continue;
      }
      lib_.input(slirp_, packet.data() + kVirtioNetHdrSize,
                    static_cast<int>(size - kVirtioNetHdrSize));
    }
  }

  int64_t next_timer_ms() const {
    int64_t soonest = -1;
    for (const auto& timer : timers_) {
      if (timer->expire_ms >= 0 && (soonest < 0 || timer->expire_ms < soonest)) {
        soonest = timer->expire_ms;
      }
    }
    if (soonest < 0) return -1;
    return std::max<int64_t>(0, soonest - monotonic_ns() / 1000000);
  }

  void fire_timers() {
    const int64_t now_ms = monotonic_ns() / 1000000;
    // A callback may re-arm or free timers: look again after each one.
    for (bool fired = true; fired;) {
      fired = false;
      for (const auto& timer : timers_) {
        if (timer->expire_ms < 0 || timer->expire_ms > now_ms) continue;
        timer->expire_ms = -1;
        if (timer->callback) {
          timer->callback(timer->callback_opaque);
        } else {
          lib_.handle_timer(slirp_, timer->id, timer->callback_opaque);
        }
        fired = true;
        break;
      }
    }
  }

  // libslirp's callbacks.
  static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    Stack& stack = self(opaque);
    uint8_t header[kVirtioNetHdrSize] = {};  // No offloads: all zero (§5.1.6.4).
    iovec parts[2] = {{header, sizeof(header)}, {const_cast<void*>(buf), len}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    // Full (EAGAIN) or too big: the frame is lost, as on a wire.
    ::sendmsg(stack.end_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    return static_cast<ssize_t>(len);
  }
  static void guest_error(const char* message, void* opaque) { self(opaque).log_.log(message); }
  static void* timer_new(SlirpTimerCb callback, void* callback_opaque, void* opaque) {
    auto timer = std::make_unique<Timer>();
    timer->callback = callback;
    timer->callback_opaque = callback_opaque;
    return self(opaque).timers_.emplace_back(std::move(timer)).get();
  }
  static void* timer_new_opaque(SlirpTimerId id, void* callback_opaque, void* opaque) {
    auto timer = std::make_unique<Timer>();
    timer->id = id;
    timer->callback_opaque = callback_opaque;
    return self(opaque).timers_.emplace_back(std::move(timer)).get();
  }
  static void timer_free(void* timer, void* opaque) {
    auto& timers = self(opaque).timers_;
    std::erase_if(timers, [timer](const auto& t) { return t.get() == timer; });
  }
  static void timer_mod(void* timer, int64_t expire_ms, void*) {
    static_cast<Timer*>(timer)->expire_ms = std::max<int64_t>(0, expire_ms);
  }
  static int add_poll(int fd, int events, void* opaque) {
    auto& fds = self(opaque).fds_;
    fds.push_back({fd, poll_events(events), 0});
    return static_cast<int>(fds.size() - 1);
  }
  static int get_revents(int index, void* opaque) {
    auto& fds = self(opaque).fds_;
    if (index < 0 || static_cast<size_t>(index) >= fds.size()) return 0;
    return slirp_events(fds[static_cast<size_t>(index)].revents);
  }

  const SlirpLibrary& lib_;
  const std::string name_;
  UniqueFd end_;  // The slirp thread's end of the socketpair.
  EventFd stop_;
  RateLimitedLog log_;  // Guest faults: short frames, offloads, libslirp's complaints.
  SlirpCb callbacks_{};
  Slirp* slirp_ = nullptr;
  std::vector<std::unique_ptr<Timer>> timers_;
  std::vector<pollfd> fds_;  // This round's: stop, the device's frames, libslirp's.
};

SlirpBackend::SlirpBackend(const UserNetOptions& options, unsigned index)
    : description_("user-mode network " + format_ipv4(options.network) + "/" +
                   std::to_string(options.prefix)) {
  const std::string name = "slirp" + std::to_string(index);
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends) != 0) {
    throw_errno(name + ": cannot create its socketpair");
  }
  device_end_.reset(ends[0]);
  UniqueFd slirp_end(ends[1]);
  for (const int fd : ends) {
    // Best effort: the default buffers work, only with more drops in bursts.
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  }
  stack_ = std::make_unique<Stack>(options, name, std::move(slirp_end));
  // The thread names itself and loads its seccomp filter before the loop;
  // the constructor waits for both, as IoThread::start() does.
  // Through the launcher, where one runs (base/util/thread_launcher.h).
  auto confined = std::make_shared<std::promise<void>>();
  std::future<void> ready = confined->get_future();
  thread_ = start_thread(name, [stack = stack_.get(), confined] {
    ::pthread_setname_np(::pthread_self(), stack->name().substr(0, 15).c_str());
    on_thread_start(ThreadRole::kSlirp);
    confined->set_value();
    try {
      stack->run();
    } catch (const std::exception& e) {
      log_line(stack->name() + ": " + e.what() + "; the user-mode network stops");
    }
  });
  ready.wait();
}

SlirpBackend::~SlirpBackend() {
  if (thread_.joinable()) {
    stack_->stop();
    thread_.join();
  }
}

}  // namespace kvmm
