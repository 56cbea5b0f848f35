// base/util/output_file.h and the --exit-log it opens: files kvmm writes are
// never reached through a symbolic link.
#include "base/util/output_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/util/error.h"
#include "vmm/cpu/exit_log.h"

using namespace kvmm;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/kvmm-out-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("an output file is created, or truncated, and written") {
  TempDir dir;
  const std::string path = dir.path + "/out";
  std::ofstream(path) << "old contents";
  {
    UniqueFd fd = open_output_file(path, "statistics file");
    REQUIRE(fd.valid());
    REQUIRE(::write(fd.get(), "new", 3) == 3);
  }
  CHECK(contents(path) == "new");
}

TEST_CASE("an output file that is a symbolic link is refused in one line") {
  TempDir dir;
  const std::string target = dir.path + "/precious";
  const std::string link = dir.path + "/stats.json";
  std::ofstream(target) << "keep";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  CHECK_THROWS_WITH(open_output_file(link, "statistics file"),
                    "statistics file " + link +
                        " is a symbolic link, which kvmm does not follow for files it writes: give "
                        "the path of the file itself");
  // A dangling link would have been created through, too.
  const std::string dangling = dir.path + "/exits";
  REQUIRE(::symlink((dir.path + "/elsewhere").c_str(), dangling.c_str()) == 0);
  CHECK_THROWS_WITH(ExitLog(dangling), Catch::Contains("exit log " + dangling + " is a symbolic link"));
  CHECK_FALSE(std::filesystem::exists(dir.path + "/elsewhere"));
  CHECK(contents(target) == "keep");
}

TEST_CASE("the exit log still writes a regular file and stderr") {
  TempDir dir;
  const std::string path = dir.path + "/exits";
  {
    ExitLog log(path);
    log.record(0, "hlt");
  }
  CHECK(contents(path) == "vcpu0 hlt\n");
  CHECK_THROWS_WITH(ExitLog(dir.path + "/missing/exits"), Catch::Contains("cannot create exit log"));
}
