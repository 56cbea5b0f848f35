#include "app/api/api_routes.h"

#include <functional>
#include <vector>

#include "app/api/api_json.h"
#include "base/util/error.h"
#include "base/util/json_writer.h"

namespace kvmm {

namespace {

// Runs `action`; an Error (the VM's state forbids it) becomes 409. Any
// other exception the HTTP side answers 500 (ApiRouter, http_api.h).
ApiAnswer guarded(const std::function<ApiAnswer()>& action) {
  try {
    return action();
  } catch (const Error& e) {
    return {409, error_body(e.what())};
  }
}

ApiEndpoint endpoint(std::string name, bool put, std::function<ApiAnswer()> action) {
  return {std::move(name), put, [action = std::move(action)] { return guarded(action); }};
}

}  // namespace

HttpApiSetup api_setup(VmControl& vm, std::string version) {
  HttpApiSetup setup;
  setup.prefix = kApiPrefix;
  setup.error_body = [](std::string_view message) { return error_body(message); };
  const auto done = [](const std::function<void()>& action) {
    return [action] {
      action();
      return ApiAnswer{204, {}};
    };
  };
  setup.endpoints = {
      endpoint("vmm.ping", false,
               [&vm, version] { return ApiAnswer{200, format_ping(vm.status(), version)}; }),
      endpoint("vm.info", false, [&vm] { return ApiAnswer{200, format_vm_info(vm.status())}; }),
      endpoint("vm.counters", false,
               [&vm] { return ApiAnswer{200, format_stats_json(vm.counters(), vm.counting())}; }),
      endpoint("vm.pause", true, done([&vm] { vm.pause(); })),
      endpoint("vm.resume", true, done([&vm] { vm.resume(); })),
      endpoint("vm.shutdown", true, done([&vm] { vm.shutdown(); })),
      endpoint("vm.power-off", true, done([&vm] { vm.power_off(); })),
  };
  return setup;
}

std::string error_body(std::string_view message) {
  JsonWriter json;
  json.begin_object(JsonWriter::Layout::kInline).member("error", message).end_object();
  return json.finish();
}

std::string canned_error_response(int status, std::string_view reason_phrase,
                                  std::string_view message) {
  const std::string body = error_body(message);
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace kvmm
