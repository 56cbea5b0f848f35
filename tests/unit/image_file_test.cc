// vmm/boot/image_file.h: a kernel, initrd or flat image that is not a regular
// file is refused in one line, and a FIFO never hangs the open.
#include "vmm/boot/image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "tests/support/test_files.h"

using namespace kvmm;
using kvmm::testing::TempFile;

TEST_CASE("an image named by a FIFO is refused, not waited for", "[threads]") {
  std::string dir = "/tmp/kvmm-fifo-XXXXXX";
  REQUIRE(::mkdtemp(dir.data()) != nullptr);
  const std::string fifo = dir + "/kernel";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // On another thread, so a regression fails the test instead of hanging it
  // (the bound is a failure bound only; a FIFO is refused at once).
  auto opened = std::async(std::launch::async, [&] {
    try {
      (void)ImageFile::open(fifo, "kernel");
      return std::string("opened");
    } catch (const Error& e) {
      return std::string(e.what());
    }
  });
  const bool finished = opened.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  if (!finished) {
    // Unblock the hung open so the test can end and report.
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer >= 0) ::close(writer);
  }
  REQUIRE(finished);
  const std::string message = opened.get();
  CHECK(message == "kernel " + fifo + " is not a regular file: give the path of the image");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a regular image reads normally after the non-blocking open") {
  TempFile file("abcdef");
  const ImageFile image = ImageFile::open(file.path, "initrd");
  CHECK(image.size() == 6);
  std::vector<uint8_t> out(3);
  image.read_exact(2, out);
  CHECK(std::string(out.begin(), out.end()) == "cde");
}
