#pragma once
// The cache of kernels decompressed from bzImages (vmm/boot/linux/
// bzimage_unpack.h): one ELF per bzImage, in a directory of the user's own
// ($XDG_CACHE_HOME/kvmm, else ~/.cache/kvmm), so that a second boot of the
// same bzImage skips the decompression.
//
// An entry is named by two 64-bit FNV-1a hashes: of the bzImage's
// FileIdentity (inode, size, times), found without reading the file, and of
// its content, found after reading it (the same kernel copied elsewhere, or
// touched). Entries are written to a temporary file and renamed into place,
// so a reader sees a whole entry or none; the kKeepEntries most recently
// used stay. Every failure (no such directory and no way to make it, a
// directory someone else owns or others may write, a full disk) makes the
// cache unusable or the entry missing, never an error: the caller then
// decompresses again.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "base/util/unique_fd.h"
#include "vmm/boot/image_file.h"

namespace kvmm {

// FNV-1a, 64-bit (Fowler, Noll, Vo): a cache key, not a defence against a
// chosen collision; whoever can write the bzImage can boot what they like.
uint64_t fnv1a64(std::span<const uint8_t> bytes, uint64_t hash = 0xcbf29ce484222325ull);
uint64_t fnv1a64(const FileIdentity& identity);

class KernelCache {
 public:
  static constexpr size_t kKeepEntries = 4;

  // $XDG_CACHE_HOME/kvmm when that is set and absolute, else $HOME/.cache/
  // kvmm; nullopt when neither can be known.
  static std::optional<std::filesystem::path> default_dir();
  // Opens `dir`, making it (and its parents, 0700, inside directories this
  // user owns) when missing. nullopt when it cannot be made or opened, is
  // not a directory, is not owned by this user or is writable by others.
  static std::optional<KernelCache> open(const std::filesystem::path& dir);

  // The entry for a bzImage of `identity`; nullopt when there is none.
  std::optional<ImageFile> find(const FileIdentity& identity) const;
  // The entry for a bzImage of `content_hash`, renamed to `identity` so the
  // next find() sees it; nullopt when there is none.
  std::optional<ImageFile> find(const FileIdentity& identity, uint64_t content_hash) const;
  // Writes `elf` as the entry for the bzImage, removes the least recently
  // used past kKeepEntries, and returns the entry opened; nullopt when it
  // cannot be written (the directory is then left as it was).
  std::optional<ImageFile> store(const FileIdentity& identity, uint64_t content_hash,
                                 std::span<const uint8_t> elf) const;
  // Removes the entry `file` (a find() result that turned out unusable).
  void remove(const ImageFile& file) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  KernelCache(UniqueFd dir_fd, std::filesystem::path dir)
      : dir_fd_(std::move(dir_fd)), dir_(std::move(dir)) {}
  std::optional<ImageFile> open_entry(const std::string& name) const;
  void evict() const;

  UniqueFd dir_fd_;
  std::filesystem::path dir_;
};

}  // namespace kvmm
