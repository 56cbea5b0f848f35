#include "vmm/boot/linux/kernel_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "base/util/error.h"

namespace kvmm {

namespace {

constexpr const char* kEntrySuffix = ".vmlinux";
constexpr const char* kTempPrefix = ".tmp-";
// A temporary file this old was left by a kvmm that died while writing it.
constexpr time_t kStaleTempSeconds = 600;

std::string hex16(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string entry_name(const FileIdentity& identity, uint64_t content_hash) {
  return hex16(fnv1a64(identity)) + "-" + hex16(content_hash) + kEntrySuffix;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The names in the directory open as `dir_fd`; a failure lists nothing.
std::vector<std::string> list_names(int dir_fd) {
  std::vector<std::string> names;
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return names;
  }
  while (const dirent* entry = ::readdir(dir)) names.emplace_back(entry->d_name);
  ::closedir(dir);
  return names;
}

bool write_all(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return true;
}

// mkdir -p with mode 0700 for what it makes, and only inside directories
// this user owns: kvmm run as root with another user's HOME (sudo) would
// otherwise leave root's directory in that user's ~/.cache.
void make_dirs(const std::filesystem::path& dir) {
  std::filesystem::path prefix;
  for (const auto& part : dir) {
    const std::filesystem::path parent = prefix.empty() ? std::filesystem::path("/") : prefix;
    prefix /= part;
    struct stat st {};
    if (::stat(prefix.c_str(), &st) == 0) continue;
    if (errno != ENOENT || ::stat(parent.c_str(), &st) < 0 || st.st_uid != ::geteuid()) return;
    if (::mkdir(prefix.c_str(), 0700) < 0 && errno != EEXIST) return;
  }
}

}  // namespace

uint64_t fnv1a64(std::span<const uint8_t> bytes, uint64_t hash) {
  constexpr uint64_t kPrime = 0x100000001b3ull;
  for (const uint8_t byte : bytes) hash = (hash ^ byte) * kPrime;
  return hash;
}

uint64_t fnv1a64(const FileIdentity& identity) {
  const uint64_t fields[] = {identity.device, identity.inode, identity.size,
                             static_cast<uint64_t>(identity.modified_ns),
                             static_cast<uint64_t>(identity.changed_ns)};
  return fnv1a64(std::span(reinterpret_cast<const uint8_t*>(fields), sizeof fields));
}

std::optional<std::filesystem::path> KernelCache::default_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  // The XDG Base Directory spec: a relative path is invalid and ignored.
  if (xdg != nullptr && xdg[0] == '/') return std::filesystem::path(xdg) / "kvmm";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::filesystem::path(home) / ".cache" / "kvmm";
  return std::nullopt;
}

std::optional<KernelCache> KernelCache::open(const std::filesystem::path& dir) {
  make_dirs(dir);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  UniqueFd owned(fd);
  struct stat st {};
  // A directory that others may write, or that is not ours, could hand
  // this user a kernel someone else chose.
  if (::fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || ::faccessat(fd, ".", W_OK, AT_EACCESS) < 0) {
    return std::nullopt;
  }
  return KernelCache(std::move(owned), dir);
}

std::optional<ImageFile> KernelCache::open_entry(const std::string& name) const {
  const int fd = ::openat(dir_fd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  try {
    ImageFile file = ImageFile::adopt(UniqueFd(fd), dir_ / name, "cached kernel");
    // Most recently used: eviction keeps it.
    ::utimensat(dir_fd_.get(), name.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
    return file;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<ImageFile> KernelCache::find(const FileIdentity& identity) const {
  const std::string prefix = hex16(fnv1a64(identity)) + "-";
  for (const std::string& name : list_names(dir_fd_.get())) {
    if (name.rfind(prefix, 0) == 0 && ends_with(name, kEntrySuffix)) return open_entry(name);
  }
  return std::nullopt;
}

std::optional<ImageFile> KernelCache::find(const FileIdentity& identity,
                                           uint64_t content_hash) const {
  const std::string suffix = "-" + hex16(content_hash) + kEntrySuffix;
  for (const std::string& name : list_names(dir_fd_.get())) {
    if (!ends_with(name, suffix) || name[0] == '.') continue;
    const std::string renamed = entry_name(identity, content_hash);
    if (::renameat(dir_fd_.get(), name.c_str(), dir_fd_.get(), renamed.c_str()) == 0) {
      return open_entry(renamed);
    }
    return open_entry(name);
  }
  return std::nullopt;
}

std::optional<ImageFile> KernelCache::store(const FileIdentity& identity, uint64_t content_hash,
                                            std::span<const uint8_t> elf) const {
  // Unique among this process's stores and every other kvmm's.
  static std::atomic<unsigned> counter{0};
  const std::string temp = kTempPrefix + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1));
  const int fd = ::openat(dir_fd_.get(), temp.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return std::nullopt;
  const bool written = write_all(fd, elf);
  const bool closed = ::close(fd) == 0;
  const std::string name = entry_name(identity, content_hash);
  if (!written || !closed ||
      ::renameat(dir_fd_.get(), temp.c_str(), dir_fd_.get(), name.c_str()) < 0) {
    ::unlinkat(dir_fd_.get(), temp.c_str(), 0);
    return std::nullopt;
  }
  evict();
  return open_entry(name);
}

void KernelCache::remove(const ImageFile& file) const {
  ::unlinkat(dir_fd_.get(), file.path().filename().c_str(), 0);
}

void KernelCache::evict() const {
  struct Entry {
    std::string name;
    timespec used;
  };
  std::vector<Entry> entries;
  const time_t now = ::time(nullptr);
  for (const std::string& name : list_names(dir_fd_.get())) {
    struct stat st {};
    if (::fstatat(dir_fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    if (name.rfind(kTempPrefix, 0) == 0) {
      if (now - st.st_mtim.tv_sec > kStaleTempSeconds) ::unlinkat(dir_fd_.get(), name.c_str(), 0);
    } else if (ends_with(name, kEntrySuffix)) {
      entries.push_back({name, st.st_mtim});
    }
  }
  if (entries.size() <= kKeepEntries) return;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec > b.used.tv_sec
                                          : a.used.tv_nsec > b.used.tv_nsec;
  });
  for (size_t i = kKeepEntries; i < entries.size(); ++i) {
    ::unlinkat(dir_fd_.get(), entries[i].name.c_str(), 0);
  }
}

}  // namespace kvmm
