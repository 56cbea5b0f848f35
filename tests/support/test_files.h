#pragma once
// Small helpers the unit tests share: a temporary file with given contents,
// guest memory for firmware tables, reading bytes and little-endian fields
// back out of it, and byte-wide register access to a device.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "base/bus/bus_device.h"
#include "base/memory/guest_memory.h"

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

// The first MiB of guest RAM, where the firmware tables live.
inline GuestMemory first_mib() {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 0x100000);
  return memory;
}

// One byte-wide register access, as a guest's `out`/`in` to a port.
inline void write_register(BusDevice& device, uint64_t offset, uint8_t value) {
  const uint8_t data[1] = {value};
  device.write(offset, data);
}
inline uint8_t read_register(BusDevice& device, uint64_t offset) {
  uint8_t data[1] = {0};
  device.read(offset, data);
  return data[0];
}

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
