#pragma once
// A guest image file (flat binary, later kernel and initrd) opened for
// loading, with errors that name the file and the fix.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "base/util/unique_fd.h"

namespace kvmm {

// What tells one version of a file from another without reading it: the
// same inode with the same size and times (the change time cannot be set
// back by a user) holds the same bytes.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t modified_ns = 0;
  int64_t changed_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

class ImageFile {
 public:
  // `what` names the role in messages ("flat image", "kernel", "initrd").
  static ImageFile open(const std::filesystem::path& path, std::string what);
  // An fd already open for reading (a memfd, a file opened under a
  // directory fd), named `path` in messages. Refused unless a regular file.
  static ImageFile adopt(UniqueFd fd, const std::filesystem::path& path, std::string what);

  uint64_t size() const { return size_; }
  const FileIdentity& identity() const { return identity_; }
  const std::filesystem::path& path() const { return path_; }
  // Reads exactly out.size() bytes at `offset`; throws on a short file or I/O error.
  void read_exact(uint64_t offset, std::span<uint8_t> out) const;

 private:
  ImageFile(UniqueFd fd, const FileIdentity& identity, std::filesystem::path path,
            std::string what)
      : fd_(std::move(fd)),
        size_(identity.size),
        identity_(identity),
        path_(std::move(path)),
        what_(std::move(what)) {}
  UniqueFd fd_;
  uint64_t size_;
  FileIdentity identity_;
  std::filesystem::path path_;
  std::string what_;
};

}  // namespace kvmm
