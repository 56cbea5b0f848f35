#pragma once
// A guest image file (flat binary, later kernel and initrd) opened for
// loading, with errors that name the file and the fix.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "base/util/unique_fd.h"

namespace kvmm {

class ImageFile {
 public:
  // `what` names the role in messages ("flat image", "kernel", "initrd").
  static ImageFile open(const std::filesystem::path& path, std::string what);

  uint64_t size() const { return size_; }
  // Reads exactly out.size() bytes at `offset`; throws on a short file or I/O error.
  void read_exact(uint64_t offset, std::span<uint8_t> out) const;

 private:
  ImageFile(UniqueFd fd, uint64_t size, std::filesystem::path path, std::string what)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)), what_(std::move(what)) {}
  UniqueFd fd_;
  uint64_t size_;
  std::filesystem::path path_;
  std::string what_;
};

}  // namespace kvmm
