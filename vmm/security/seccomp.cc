#include "vmm/security/seccomp.h"

#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/util/error.h"

namespace kvmm {

namespace {

// Names of the system calls, resolved by libseccomp before any filter is
// loaded (it allocates), so the SIGSYS handler only indexes the table.
constexpr int kSyscallNames = 512;
std::array<const char*, kSyscallNames> g_syscall_names{};

std::atomic<SeccompMode> g_mode{SeccompMode::kOff};
FilterNeeds g_needs;
// KVMM_TEST_SECCOMP_VIOLATION=ROLE: the thread of that role makes a call
// outside its filter right after loading it (tests/cli/seccomp_test.sh).
std::string g_test_violation;

// Appends `text` to buffer[len..] without overflowing; async-signal-safe.
void append(char* buffer, size_t size, size_t& len, const char* text) {
  while (*text != '\0' && len + 1 < size) buffer[len++] = *text++;
}

void append_number(char* buffer, size_t size, size_t& len, unsigned value) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0 && len + 1 < size) buffer[len++] = digits[--n];
}

// SCMP_ACT_TRAP's SIGSYS: one write(2) of the thread's name and the call,
// then the whole process ends. Only calls every filter allows: prctl
// (PR_GET_NAME), write, exit_group.
void on_sigsys(int, siginfo_t* info, void*) {
  char thread[17] = {};
  ::prctl(PR_GET_NAME, thread, 0, 0, 0);
  const int number = info->si_syscall;
  char text[320];
  size_t len = 0;
  append(text, sizeof text, len, "kvmm: thread ");
  append(text, sizeof text, len, thread);
  append(text, sizeof text, len, " made system call ");
  append_number(text, sizeof text, len, static_cast<unsigned>(number));
  if (number >= 0 && number < kSyscallNames && g_syscall_names[number] != nullptr) {
    append(text, sizeof text, len, " (");
    append(text, sizeof text, len, g_syscall_names[number]);
    append(text, sizeof text, len, ")");
  }
  append(text, sizeof text, len,
         " outside its seccomp filter; kvmm stops. A kvmm bug or a compromised thread: "
         "report it; --seccomp=log allows and logs such calls (docs/security.md)\n");
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text, len);
  ::_exit(128 + SIGSYS);
}

void check(int result, const std::string& what) {
  if (result < 0) {
    throw Error("seccomp: " + what + " failed: " + std::strerror(-result) +
                "; run with --seccomp=off to start without filters");
  }
}

void load_filter(ThreadRole role) {
  const RoleFilter filter = role_filter(role, g_needs);
  const SeccompMode mode = g_mode.load(std::memory_order_acquire);
  scmp_filter_ctx ctx = ::seccomp_init(mode == SeccompMode::kLog ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
  if (ctx == nullptr) throw Error("seccomp: cannot create a filter (out of memory)");
  const std::string what = std::string(role_name(role)) + " filter";
  try {
    // no_new_privs is set process-wide by prepare_seccomp(); a thread
    // started by a confined thread could not set it again (prctl).
    check(::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), what + ": no_new_privs attribute");
    // A binary search over the system call numbers instead of a linear
    // scan (libseccomp 2.5), with the hot call tested first of all.
    check(::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), what + ": optimize attribute");
    if (filter.hot_syscall) {
      check(::seccomp_syscall_priority(ctx, *filter.hot_syscall, 255), what + ": priority");
    }
    for (int nr : filter.syscalls) {
      check(::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0),
            what + ": system call " + std::to_string(nr));
    }
    // The kernel takes ioctl's request as an unsigned int: compare 32 bits.
    for (unsigned long request : filter.ioctls) {
      check(::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, request & 0xffffffffUL)),
            what + ": ioctl " + std::to_string(request));
    }
    for (int option : filter.prctl_options) {
      check(::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                               SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(option))),
            what + ": prctl " + std::to_string(option));
    }
    for (int signal_number : filter.sigaction_signals) {
      check(::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
                               SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(signal_number))),
            what + ": rt_sigaction " + std::to_string(signal_number));
    }
    check(::seccomp_load(ctx), "loading the " + what);
  } catch (...) {
    ::seccomp_release(ctx);
    throw;
  }
  ::seccomp_release(ctx);
  if (!g_test_violation.empty() && g_test_violation == role_name(role)) {
    ::syscall(SYS_getppid);  // In no filter.
  }
}

// The hook of devices' threads (base/util/thread_role.h): a thread that
// cannot be confined must not run.
void on_device_thread_start(ThreadRole role) {
  try {
    load_filter(role);
  } catch (const Error& e) {
    const std::string line = std::string("kvmm: ") + e.what() + "\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    ::_exit(1);
  }
}

}  // namespace

std::string_view seccomp_mode_name(SeccompMode mode) {
  switch (mode) {
    case SeccompMode::kOff: return "off";
    case SeccompMode::kLog: return "log";
    case SeccompMode::kOn: return "on";
  }
  return "?";
}

void prepare_seccomp(SeccompMode mode, const FilterNeeds& needs) {
  if (mode == SeccompMode::kOff) return;
  // seccomp(2): an unprivileged filter needs no_new_privs; set here, before
  // any thread, every thread inherits it.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    throw_errno("prctl(PR_SET_NO_NEW_PRIVS) failed");
  }
  // Guest memory in no core file, and no ptrace by other unprivileged
  // processes of the same user.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("prctl(PR_SET_DUMPABLE, 0) failed");
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) throw_errno("setrlimit(RLIMIT_CORE, 0) failed");

  for (int nr = 0; nr < kSyscallNames; ++nr) {
    if (g_syscall_names[nr] != nullptr) continue;
    g_syscall_names[nr] = ::seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);  // Kept.
  }
  struct sigaction action {};
  action.sa_sigaction = on_sigsys;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_SIGINFO;
  if (::sigaction(SIGSYS, &action, nullptr) != 0) throw_errno("sigaction(SIGSYS) failed");

  if (const char* role = std::getenv("KVMM_TEST_SECCOMP_VIOLATION")) g_test_violation = role;
  g_needs = needs;
  g_mode.store(mode, std::memory_order_release);
  set_thread_start_hook(on_device_thread_start);
}

void install_thread_filter(ThreadRole role) {
  if (g_mode.load(std::memory_order_acquire) == SeccompMode::kOff) return;
  load_filter(role);
}

std::string_view syscall_name(int number) {
  if (number < 0 || number >= kSyscallNames || g_syscall_names[number] == nullptr) return {};
  return g_syscall_names[number];
}

}  // namespace kvmm
