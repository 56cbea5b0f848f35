// A hostile nasm driver against kvmm's virtio-blk on real KVM: kvmm must
// stay up, answer every malformed request, and write the image only where a
// valid request asked it to.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/kvm/guest_runner.h"
#include "tests/support/test_files.h"

using namespace kvmm::testing;

TEST_CASE("a hostile virtio-blk driver cannot crash kvmm or write outside valid requests") {
  // 1 MiB of random bytes: any stray write would show.
  std::vector<uint8_t> original(1 << 20);
  std::mt19937 random(42);
  for (auto& byte : original) byte = static_cast<uint8_t>(random());
  TempFile image(original);

  const auto run = run_guest("virtio_blk_hostile", "long", {"--mem", "64M", "--disk", image.path});
  INFO("stdout:\n" << run.result.out << "\nstderr:\n" << run.result.err);
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out == "virtio-blk: the device survived every hostile request\n");
  // Every ignored request was reported, and the log stayed bounded.
  CHECK(run.result.err.find("virtio-blk0") != std::string::npos);
  CHECK(std::count(run.result.err.begin(), run.result.err.end(), '\n') < 40);

  std::ifstream in(image.path, std::ios::binary);
  std::vector<uint8_t> after((std::istreambuf_iterator<char>(in)), {});
  REQUIRE(after.size() == original.size());
  // Sector 0 holds what the one valid write put there ("GOOD" x 128) ...
  const std::string good(reinterpret_cast<const char*>(after.data()), 512);
  std::string expected;
  for (int i = 0; i < 128; ++i) expected += "GOOD";
  CHECK(good == expected);
  // ... and nothing else changed.
  CHECK(std::equal(after.begin() + 512, after.end(), original.begin() + 512));
}

TEST_CASE("an exception in the disk's I/O thread stops that device, not kvmm") {
  TempFile image(std::vector<uint8_t>(1 << 20, 0x5a));
  ProcessOptions options;
  options.environment = {{"KVMM_TEST_IO_THREAD_FAULT", "virtio-blk0"}};
  const auto run = run_guest("virtio_blk_fault", "long", {"--mem", "64M", "--disk", image.path},
                             options);
  INFO("stdout:\n" << run.result.out << "\nstderr:\n" << run.result.err);
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out ==
        "virtio-blk: the device asked for a reset after its thread's fault, and works again\n");
  CHECK(run.result.err.find("virtio-blk0: internal error on the I/O thread: fault injected by "
                            "KVMM_TEST_IO_THREAD_FAULT; the device stops and needs a reset by the "
                            "guest") != std::string::npos);
  std::ifstream in(image.path, std::ios::binary);
  std::string sector(512, '\0');
  in.read(sector.data(), 512);
  CHECK(sector.substr(0, 8) == "FIXDFIXD");
}
