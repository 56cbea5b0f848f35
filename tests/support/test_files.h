#pragma once
// Small helpers the unit tests share: a temporary file with given contents,
// and reading bytes and little-endian fields back out of guest memory.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "vmm/memory/guest_memory.h"

namespace kvmm::testing {

using Bytes = std::vector<uint8_t>;

// A file under /tmp holding `contents`, removed when the object goes.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(std::string_view contents) {
    char name[] = "/tmp/kvmm-test-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path, std::ios::binary)
        .write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }
  explicit TempFile(const Bytes& contents)
      : TempFile(std::string_view(reinterpret_cast<const char*>(contents.data()), contents.size())) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { std::filesystem::remove(path); }
};

inline Bytes read_bytes(const GuestMemory& memory, uint64_t address, size_t length) {
  Bytes out(length);
  REQUIRE(memory.read(GuestAddress{address}, out));
  return out;
}

// The T stored at `offset` in `bytes` (tables are little-endian, as x86 is).
template <typename T>
T field(const Bytes& bytes, size_t offset) {
  REQUIRE(offset + sizeof(T) <= bytes.size());
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace kvmm::testing
