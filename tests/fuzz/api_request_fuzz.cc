// libFuzzer target: any bytes a client sends to a VM's API socket, through
// ApiRouter::handle (httplib's parser) and the real routes (api_routes.h)
// over a fake VmControl whose pause and resume refuse when the input says so,
// as a real VM in the wrong state does. Each input is handled as the server
// does (api_server.cc): whole with the client's side shut, whole with it still
// open, and in two arrivals split where the input says, then shut.
//
// The invariants: handle never throws; a complete result is empty only when
// the client shut its side (it left before sending a request), else it is a
// response that starts with "HTTP/1.1 " and has a status line and a blank
// line; the fake's actions run only for a complete, well-formed PUT to their
// own endpoint, answered 204 (or 409 when the fake refused), and never for a
// request that is still arriving.
//
// Input: byte 0 bit 0: pause refuses, bit 1: resume refuses; bytes 1-2: where
// to split (big-endian, modulo the request's size + 1); the rest is the
// request. Seeds in corpus/api_request/.
// Built by tests/fuzz/CMakeLists.txt's kvmm_fuzz_target(api_request LINK kvmm_app).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "app/api/http/api_router.h"
#include "app/api/api_routes.h"
#include "base/util/error.h"

using namespace kvmm;

namespace {

enum class Action { kNone, kPause, kResume, kShutdown, kPowerOff };

const char* endpoint_of(Action action) {
  switch (action) {
    case Action::kPause: return "vm.pause";
    case Action::kResume: return "vm.resume";
    case Action::kShutdown: return "vm.shutdown";
    case Action::kPowerOff: return "vm.power-off";
    case Action::kNone: break;
  }
  return "";
}

[[noreturn]] void fail(const char* what, std::string_view request, std::string_view response) {
  std::fprintf(stderr, "api_request_fuzz: %s\n-- request (%zu bytes) --\n%.*s\n-- response --\n%.*s\n",
               what, request.size(), static_cast<int>(request.size()), request.data(),
               static_cast<int>(response.size()), response.data());
  std::abort();
}

class FakeVm : public VmControl {
 public:
  FakeVm() {
    config_.cpus = 2;
    config_.memory_bytes = 64ull << 20;
  }
  VmStatus status() const override {
    VmStatus s;
    s.name = "fuzz";
    s.pid = 1;
    s.state = VmState::kRunning;
    s.api_socket = "/run/kvmm/fuzz.sock";
    s.config = &config_;
    s.vcpus = {{.vcpu = 0, .tid = 2, .last_cpu = 0, .affinity = {0}, .policy = "other"}};
    return s;
  }
  std::vector<VcpuStats> counters() const override { return {VcpuStats{}}; }
  bool counting() const override { return false; }
  void pause() override { act(Action::kPause, pause_refuses); }
  void resume() override { act(Action::kResume, resume_refuses); }
  void shutdown() override { act(Action::kShutdown, false); }
  void power_off() override { act(Action::kPowerOff, false); }

  bool pause_refuses = false;
  bool resume_refuses = false;
  // What ran during the current handle(): at most one action per request.
  std::vector<Action> ran;
  bool refused = false;

 private:
  void act(Action action, bool refuse) {
    ran.push_back(action);
    if (refuse) {
      refused = true;
      throw Error(std::string("cannot ") + endpoint_of(action) + ": the fuzzer says no");
    }
  }
  VmConfig config_;
};

// The path of a request line "METHOD TARGET VERSION", its query cut off and
// percent-decoded, as the router matches it. An oracle of its own, not
// httplib's code.
std::string decoded_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::string path;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size() && hex(target[i + 1]) >= 0 &&
        hex(target[i + 2]) >= 0) {
      path += static_cast<char>(hex(target[i + 1]) * 16 + hex(target[i + 2]));
      i += 2;
    } else {
      path += target[i];
    }
  }
  return path;
}

// Is `request` a whole PUT to `endpoint`'s path: a request line of three
// words ending in CRLF, its target in origin form ("/path[?query]" of RFC
// 3986's characters, a fragment aside), and a blank line ending the headers? Words may be parted by runs of spaces and
// tabs: RFC 9112 section 3 lets a server parse on whitespace boundaries.
bool whole_put_to(std::string_view request, const char* endpoint) {
  const size_t line_end = request.find("\r\n");
  if (line_end == std::string_view::npos) return false;
  // httplib drops a "#fragment" unseen, up to the space that ends the
  // target, whatever it holds: a fragment names nothing on the server.
  std::string whole_line(request.substr(0, line_end));
  if (const size_t hash = whole_line.find('#'); hash != std::string::npos) {
    whole_line.erase(hash, whole_line.find(' ', hash) - hash);
  }
  std::string_view line = whole_line;
  std::vector<std::string_view> words;
  while (!line.empty()) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const size_t end = std::min(line.find_first_of(" \t"), line.size());
    words.push_back(line.substr(0, end));
    line.remove_prefix(end);
  }
  if (words.size() != 3 || words[0] != "PUT" || !words[2].starts_with("HTTP/1.")) return false;
  const std::string_view target = words[1];
  // RFC 3986 appendix A: pchar, "/" and "?" (no fragment in a request).
  const auto uri_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           (c != '\0' && std::strchr("-._~%!$&'()*+,;=:@/?", c) != nullptr);
  };
  if (!target.starts_with('/') || !std::all_of(target.begin(), target.end(), uri_char) ||
      decoded_path(target) != std::string(kApiPrefix) + endpoint) {
    return false;
  }
  const std::string_view rest = request.substr(line_end + 2);
  return rest.starts_with("\r\n") || rest.find("\n\r\n") != std::string_view::npos;
}

// The final status of a response, after any "100 Continue" interim one.
int final_status(std::string_view response) {
  while (response.starts_with("HTTP/1.1 100 ")) {
    const size_t end = response.find("\r\n\r\n");
    if (end == std::string_view::npos) return -1;
    response.remove_prefix(end + 4);
  }
  if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return -1;
  return std::atoi(std::string(response.substr(9, 3)).c_str());
}

FakeVm& fake_vm() {
  static FakeVm* vm = new FakeVm;
  return *vm;
}

// Built once: its routes compile regular expressions.
ApiRouter& router() {
  static ApiRouter* router = [] {
    HttpApiSetup setup = api_setup(fake_vm(), "0.0.0-fuzz");
    setup.max_request_bytes = 64 * 1024;  // As the server sets it.
    return new ApiRouter(std::move(setup));
  }();
  return *router;
}

ApiRouter::Result checked_handle(std::string_view request, bool input_ended) {
  FakeVm& vm = fake_vm();
  vm.ran.clear();
  vm.refused = false;
  ApiRouter::Result result;
  try {
    result = router().handle(request, input_ended, 4242);
  } catch (const std::exception& e) {
    fail(e.what(), request, "(handle threw)");
  } catch (...) {
    fail("handle threw something that is not a std::exception", request, "");
  }
  const std::string_view response = result.response;
  if (!result.complete) {
    if (!vm.ran.empty()) fail("an action ran for a request still arriving", request, response);
    return result;
  }
  if (response.empty()) {
    // The server closes such a client without a word: right only when it
    // has shut its side.
    if (!input_ended) fail("a client still sending is answered with nothing", request, response);
    if (!vm.ran.empty()) fail("an action ran but nothing was answered", request, response);
    return result;
  }
  if (!response.starts_with("HTTP/1.1 ")) fail("the response does not start with HTTP/1.1", request, response);
  const size_t status_end = response.find("\r\n");
  const size_t head_end = response.find("\r\n\r\n");
  if (status_end == std::string_view::npos || head_end == std::string_view::npos) {
    fail("the response lacks a status line or a blank line", request, response);
  }
  if (vm.ran.size() > 1) fail("more than one action ran for one request", request, response);
  if (vm.ran.size() == 1) {
    const char* endpoint = endpoint_of(vm.ran.front());
    if (!whole_put_to(request, endpoint)) {
      fail("an action ran for something that is not a whole PUT to its endpoint", request, response);
    }
    const int status = final_status(response);
    if (status != (vm.refused ? 409 : 204)) fail("an action's answer is neither 204 nor its refusal's 409", request, response);
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  FakeVm& vm = fake_vm();
  vm.pause_refuses = (data[0] & 1) != 0;
  vm.resume_refuses = (data[0] & 2) != 0;
  const std::string_view request(reinterpret_cast<const char*>(data + 3), size - 3);
  const size_t split = (size_t{data[1]} << 8 | data[2]) % (request.size() + 1);

  checked_handle(request, /*input_ended=*/true);
  checked_handle(request, /*input_ended=*/false);
  // Two arrivals, as the server hands them over: what came so far, then all
  // of it, then all of it with the client's side shut.
  if (checked_handle(request.substr(0, split), false).complete) return 0;
  if (checked_handle(request, false).complete) return 0;
  checked_handle(request, true);
  return 0;
}
