#include "vmm/boot/flat_loader.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <unistd.h>

#include "base/util/error.h"
#include "tests/support/test_files.h"

using namespace kvmm;
using kvmm::testing::TempFile;

namespace {


GuestMemory small_memory() {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 0x10000);  // 32 KiB of room above 0x8000.
  return memory;
}

}  // namespace

TEST_CASE("Flat images are copied byte for byte to the load address") {
  GuestMemory memory = small_memory();
  TempFile file("\xf4\x90\x90");
  CHECK(load_flat_image(memory, file.path, GuestAddress{0x8000}) == 3);
  CHECK(memory.read_obj<uint8_t>(GuestAddress{0x8000}) == 0xf4);
  CHECK(memory.read_obj<uint8_t>(GuestAddress{0x8002}) == 0x90);
  CHECK(memory.read_obj<uint8_t>(GuestAddress{0x8003}) == 0);
}

TEST_CASE("An image that exactly fills the rest of memory loads") {
  GuestMemory memory = small_memory();
  TempFile file(std::string(0x8000, 'x'));
  CHECK(load_flat_image(memory, file.path, GuestAddress{0x8000}) == 0x8000);
}

TEST_CASE("Flat image errors name the file and the fix") {
  GuestMemory memory = small_memory();
  CHECK_THROWS_WITH(load_flat_image(memory, "/nonexistent/guest.bin", GuestAddress{0x8000}),
                    Catch::Contains("/nonexistent/guest.bin does not exist"));
  TempFile empty("");
  CHECK_THROWS_WITH(load_flat_image(memory, empty.path, GuestAddress{0x8000}),
                    Catch::Contains("is empty"));
  TempFile big(std::string(0x8001, 'x'));
  CHECK_THROWS_WITH(load_flat_image(memory, big.path, GuestAddress{0x8000}),
                    Catch::Contains("does not fit in guest memory") && Catch::Contains("--mem"));
  CHECK_THROWS_WITH(load_flat_image(memory, "/tmp", GuestAddress{0x8000}),
                    Catch::Contains("not a regular file"));
}
