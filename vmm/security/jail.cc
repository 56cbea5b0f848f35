#include "vmm/security/jail.h"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/util/error.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

// An id for setresuid(2)/setresgid(2): -1 there means "unchanged", so it is
// no id; 0 is root's, refused by resolve_jail().
std::optional<uint32_t> parse_id(std::string_view text) {
  const std::optional<uint32_t> id = parse_integer<uint32_t>(text);
  if (!id || *id == UINT32_MAX) return std::nullopt;
  return id;
}

}  // namespace

JailOptions parse_jail_option(std::string_view text) {
  const std::vector<KeyValue> fields = split_key_values(text);
  if (fields[0].field.empty()) {
    throw UsageError(
        "--jail needs a directory: give e.g. --jail /srv/kvmm/vm0,uid=65534,gid=65534");
  }
  JailOptions options;
  options.dir = std::string(fields[0].field);
  for (size_t i = 1; i < fields.size(); ++i) {
    const std::string_view key = fields[i].key;
    const std::string_view value = fields[i].value.value_or(std::string_view());
    if (key != "uid" && key != "gid") {
      throw UsageError("--jail " + std::string(text) + ": '" + std::string(fields[i].field) +
                       "' is not uid=N or gid=N (a directory name may not contain a comma)");
    }
    const std::optional<uint32_t> id = parse_id(value);
    if (!id) {
      throw UsageError("--jail " + std::string(key) + "=" + std::string(value) + " is not a " +
                       (key == "uid" ? "user" : "group") +
                       " id: give a number from 0 to 4294967294, e.g. " + std::string(key) +
                       "=65534");
    }
    if (key == "uid") {
      if (options.uid) throw UsageError("--jail gives uid= twice: give it once");
      options.uid = *id;
    } else {
      if (options.gid) throw UsageError("--jail gives gid= twice: give it once");
      options.gid = *id;
    }
  }
  return options;
}

JailPlan resolve_jail(const JailOptions& options) {
  const std::string dir = options.dir.string();
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) {
    const int saved = errno;
    if (saved == ENOENT) {
      throw Error("--jail " + dir + " does not exist: create it (mkdir, then chown it to the "
                  "user the VM runs as)");
    }
    throw_errno("--jail " + dir + " cannot be examined", saved);
  }
  if (!S_ISDIR(info.st_mode)) {
    throw Error("--jail " + dir + " is not a directory: give the directory kvmm chroots into");
  }
  if (::geteuid() != 0) {
    throw Error("--jail needs root (chroot and the change of user and group ids need "
                "CAP_SYS_CHROOT, CAP_SETUID and CAP_SETGID): run as root, or drop --jail");
  }
  JailPlan plan;
  plan.dir = std::filesystem::absolute(options.dir).lexically_normal();
  plan.uid = options.uid.value_or(info.st_uid);
  plan.gid = options.gid.value_or(info.st_gid);
  if (plan.uid == 0 || plan.gid == 0) {
    const std::string which = plan.uid == 0 ? "user" : "group";
    const bool given = plan.uid == 0 ? options.uid.has_value() : options.gid.has_value();
    throw Error("--jail would leave kvmm with root's " + which + " id" +
                (given ? "" : std::string(plan.uid == 0 ? " (the owner of " : " (the group of ") +
                                  dir + ")") +
                ", and root can leave a chroot: give uid=N,gid=N of an unprivileged user, "
                "or chown " + dir + " to one");
  }
  return plan;
}

void prepare_jail() {
  // Also set by prepare_seccomp() when seccomp is on; with --seccomp=off
  // this is what keeps a jailed kvmm from gaining privileges through exec.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    throw_errno("--jail: prctl(PR_SET_NO_NEW_PRIVS) failed");
  }
}

void enter_jail(const JailPlan& plan) {
  const std::string dir = plan.dir.string();
  if (::chroot(dir.c_str()) != 0) throw_errno("--jail: chroot(" + dir + ") failed");
  // Else the working directory stays outside the new root, a way out of it.
  if (::chdir("/") != 0) throw_errno("--jail: chdir(\"/\") in " + dir + " failed");
  // Groups first: the user id change drops the capability this needs.
  if (::setgroups(0, nullptr) != 0) throw_errno("--jail: dropping the supplementary groups failed");
  if (::setresgid(plan.gid, plan.gid, plan.gid) != 0) {
    throw_errno("--jail: setresgid(" + std::to_string(plan.gid) + ") failed");
  }
  // Every uid non-zero: the kernel clears the permitted and effective
  // capabilities (capabilities(7), "Effect of user ID changes").
  if (::setresuid(plan.uid, plan.uid, plan.uid) != 0) {
    throw_errno("--jail: setresuid(" + std::to_string(plan.uid) + ") failed");
  }
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 ||
      ruid != plan.uid || euid != plan.uid || suid != plan.uid || rgid != plan.gid ||
      egid != plan.gid || sgid != plan.gid || ::getgroups(0, nullptr) != 0 ||
      ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
    throw Error("--jail: the process's ids or no_new_privs are not as asked after the change; kvmm "
                "stops rather than run the guest with them");
  }
}

}  // namespace kvmm
