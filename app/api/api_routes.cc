#include "app/api/api_routes.h"

#include <functional>
#include <vector>

#include "app/api/api_json.h"
#include "base/util/error.h"

namespace kvmm {

namespace {

constexpr const char* kJson = "application/json";

void refuse(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(error_body(message), kJson);
}

// Runs `action`; an Error (the VM's state forbids it) becomes 409, anything
// else 500, so that no exception reaches httplib.
void guarded(httplib::Response& res, const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    refuse(res, 409, e.what());
  } catch (const std::exception& e) {
    refuse(res, 500, std::string("internal error: ") + e.what());
  }
}

struct Endpoint {
  const char* name;
  bool put;  // PUT, else GET.
  std::function<void(httplib::Response&)> handle;
};

}  // namespace

void add_api_routes(ApiRouter& router, VmControl& vm, std::string version) {
  const std::vector<Endpoint> endpoints = {
      {"vmm.ping", false,
       [&vm, version](httplib::Response& res) {
         res.set_content(format_ping(vm.status(), version), kJson);
       }},
      {"vm.info", false,
       [&vm](httplib::Response& res) { res.set_content(format_vm_info(vm.status()), kJson); }},
      {"vm.counters", false,
       [&vm](httplib::Response& res) {
         res.set_content(format_stats_json(vm.counters(), vm.counting()), kJson);
       }},
      {"vm.pause", true, [&vm](httplib::Response& res) {
         vm.pause();
         res.status = 204;
       }},
      {"vm.resume", true, [&vm](httplib::Response& res) {
         vm.resume();
         res.status = 204;
       }},
      {"vm.shutdown", true, [&vm](httplib::Response& res) {
         vm.shutdown();
         res.status = 204;
       }},
      {"vm.power-off", true, [&vm](httplib::Response& res) {
         vm.power_off();
         res.status = 204;
       }},
  };
  for (const Endpoint& endpoint : endpoints) {
    const std::string path = std::string(kApiPrefix) + endpoint.name;
    const auto handle = endpoint.handle;
    const auto run = [handle](httplib::Response& res) { guarded(res, [&] { handle(res); }); };
    const std::string wrong = std::string(endpoint.name) + " takes " +
                              (endpoint.put ? "PUT" : "GET");
    const auto refuse_method = [wrong, put = endpoint.put](const httplib::Request&,
                                                           httplib::Response& res) {
      res.set_header("Allow", put ? "PUT" : "GET");
      refuse(res, 405, wrong);
    };
    // The regex is the literal path: escape its dots.
    std::string pattern;
    for (char c : path) {
      if (c == '.') pattern += '\\';
      pattern += c;
    }
    if (endpoint.put) {
      // With a content reader, httplib calls the handler once the headers
      // are in and leaves the body unread: these endpoints take none, and
      // `curl -X PUT` sends no Content-Length for an empty one.
      router.Put(pattern, [run](const httplib::Request&, httplib::Response& res,
                                const httplib::ContentReader&) { run(res); });
      router.Get(pattern, refuse_method);
    } else {
      router.Get(pattern, [run](const httplib::Request&, httplib::Response& res) { run(res); });
      router.Put(pattern, [refuse_method](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader&) {
        refuse_method(req, res);
      });
    }
    router.Post(pattern, refuse_method);
    router.Delete(pattern, refuse_method);
    router.Patch(pattern, refuse_method);
  }
}

}  // namespace kvmm
