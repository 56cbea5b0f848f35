// vmm/console/console_output.h: the guest's console output never blocks the
// appender; a stalled reader costs bytes, counted, not a blocked vCPU.
#include "vmm/console/console_output.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

#include "base/util/unique_fd.h"

using namespace kvmm;

namespace {

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Pipe make_pipe() {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string read_all(int fd) {
  REQUIRE(::fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  return text;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("console output: appended bytes wake the writer and reach the fd in order") {
  Pipe pipe = make_pipe();
  ConsoleOutput output(pipe.write_end.get());
  CHECK_FALSE(output.wants_output());
  output.append("hello ");
  output.append(uint8_t{'w'});
  output.append("orld");
  CHECK(readable(output.wake_fd()));
  output.on_wake();
  CHECK_FALSE(readable(output.wake_fd()));
  REQUIRE(output.wants_output());
  while (output.wants_output()) output.on_writable();
  CHECK(read_all(pipe.read_end.get()) == "hello world");
  CHECK(output.dropped() == 0);
}

TEST_CASE("console output: a full buffer drops and counts, never blocks") {
  Pipe pipe = make_pipe();
  ConsoleOutput output(pipe.write_end.get(), 16);
  output.append(std::string(10, 'a'));
  output.append(std::string(10, 'b'));  // 6 fit.
  output.append(uint8_t{'c'});          // None fits.
  CHECK(output.dropped() == 5);
  while (output.wants_output()) output.on_writable();
  CHECK(read_all(pipe.read_end.get()) == std::string(10, 'a') + std::string(6, 'b'));
}

TEST_CASE("console output: a reader that never reads stalls nobody, and flush gives up and counts") {
  Pipe pipe = make_pipe();
  // Fill the pipe so the writer finds no room.
  REQUIRE(::fcntl(pipe.write_end.get(), F_SETFL, O_NONBLOCK) == 0);
  const std::string filler(4096, 'x');
  while (::write(pipe.write_end.get(), filler.data(), filler.size()) > 0) {
  }
  REQUIRE(::fcntl(pipe.write_end.get(), F_SETFL, 0) == 0);  // Blocking again, like stdout.

  ConsoleOutput output(pipe.write_end.get(), 1024);
  for (int i = 0; i < 2000; ++i) output.append(uint8_t{'g'});  // Returns at once.
  CHECK(output.dropped() == 2000 - 1024);
  output.flush(10);
  CHECK(output.dropped() == 2000);
  CHECK_FALSE(output.wants_output());
}

TEST_CASE("console output: a closed reader ends the output quietly") {
  Pipe pipe = make_pipe();
  ConsoleOutput output(pipe.write_end.get());
  pipe.read_end = UniqueFd();
  // kvmm's main() ignores SIGPIPE; so does this test, for the EPIPE.
  void (*previous)(int) = ::signal(SIGPIPE, SIG_IGN);
  output.append("lost");
  output.on_writable();
  ::signal(SIGPIPE, previous);
  CHECK_FALSE(output.wants_output());
  CHECK(output.dropped() == 0);
}
