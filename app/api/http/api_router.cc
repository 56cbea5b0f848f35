#include "app/api/http/api_router.h"

#include <algorithm>
#include <cstring>
#include <exception>

namespace kvmm {

namespace {

// httplib's Stream over the bytes received so far. Reading past them is
// "end of input"; `starved` records that it happened while the client might
// still send more, so the parse is retried, not answered.
class ReceivedStream : public httplib::Stream {
 public:
  ReceivedStream(std::string_view input, bool input_ended, int peer_pid)
      : input_(input), input_ended_(input_ended), peer_pid_(peer_pid) {}

  bool is_readable() const override { return offset_ < input_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, input_.size() - offset_);
    if (n == 0) {
      if (!input_ended_) starved_ = true;
      return 0;
    }
    std::memcpy(ptr, input_.data() + offset_, n);
    offset_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    output_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "unix";
    port = peer_pid_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "unix";
    port = 0;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

  bool starved() const { return starved_; }
  std::string take_output() { return std::move(output_); }

 private:
  std::string_view input_;
  bool input_ended_;
  int peer_pid_;
  size_t offset_ = 0;
  bool starved_ = false;
  std::string output_;
};

// An origin-form request target (RFC 9112 section 3.2.1: absolute-path
// ["?" query]) holds only RFC 3986's path and query characters: unreserved,
// percent-encoded, sub-delims, ":", "@", "/" and "?". httplib is laxer: it
// splits the request line on spaces alone and trims tabs from what it routes,
// so "PUT /api/v1/vm.pause\t? HTTP/1.1" would otherwise reach vm.pause. (It
// also drops a "#fragment" before `target` is seen here; a fragment names
// nothing on the server, so ignoring it is harmless.)
bool origin_form(std::string_view target) {
  if (!target.starts_with('/')) return false;
  return std::all_of(target.begin(), target.end(), [](char c) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || std::string_view("-._~%!$&'()*+,;=:@/?").find(c) != std::string_view::npos;
  });
}

void answer(httplib::Response& res, const ApiAnswer& answer) {
  res.status = answer.status;
  if (!answer.body.empty()) res.set_content(answer.body, "application/json");
}

}  // namespace

ApiRouter::ApiRouter(HttpApiSetup setup) : setup_(std::move(setup)) {
  set_payload_max_length(setup_.max_request_bytes);
  // A malformed target is 400 before any route sees it (RFC 9112 section 3.2:
  // an invalid request line should be answered 400).
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (origin_form(req.target)) return HandlerResponse::Unhandled;
    res.status = 400;
    res.set_content(setup_.error_body("malformed request target: it must be a path such as "
                                      "/api/v1/vm.info, of RFC 3986 characters"),
                    "application/json");
    return HandlerResponse::Handled;
  });
  // Every error httplib itself answers (400 for a malformed request, 404,
  // 413 for a body over set_payload_max_length) carries a JSON body too.
  set_error_handler([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const char* message = "the request was refused";
    switch (res.status) {
      case 400: message = "malformed HTTP request"; break;
      case 404: message = "no such endpoint; see docs/api.md"; break;
      case 413: message = "request body too large"; break;
      case 414: message = "request line too long"; break;
      default: break;
    }
    res.set_content(setup_.error_body(message), "application/json");
  });

  for (const ApiEndpoint& endpoint : setup_.endpoints) {
    const std::string path = setup_.prefix + endpoint.name;
    // No exception reaches httplib: kvmm's handlers answer their own
    // refusals, and anything else is 500.
    const auto run = [handle = endpoint.handle, this](httplib::Response& res) {
      try {
        answer(res, handle());
      } catch (const std::exception& e) {
        answer(res, {500, setup_.error_body(std::string("internal error: ") + e.what())});
      }
    };
    const std::string wrong = endpoint.name + " takes " + (endpoint.put ? "PUT" : "GET");
    const auto refuse_method = [wrong, put = endpoint.put, this](const httplib::Request&,
                                                                 httplib::Response& res) {
      res.set_header("Allow", put ? "PUT" : "GET");
      answer(res, {405, setup_.error_body(wrong)});
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
      Put(pattern, [run](const httplib::Request&, httplib::Response& res,
                         const httplib::ContentReader&) { run(res); });
      Get(pattern, refuse_method);
    } else {
      Get(pattern, [run](const httplib::Request&, httplib::Response& res) { run(res); });
      Put(pattern, [refuse_method](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader&) { refuse_method(req, res); });
    }
    Post(pattern, refuse_method);
    Delete(pattern, refuse_method);
    Patch(pattern, refuse_method);
  }
}

ApiRouter::Result ApiRouter::handle(std::string_view input, bool input_ended, int peer_pid) {
  ReceivedStream stream(input, input_ended, peer_pid);
  bool closed = false;
  process_request(stream, /*close_connection=*/true, closed, [](httplib::Request&) {});
  if (stream.starved()) return Result{};
  return Result{true, stream.take_output()};
}

std::unique_ptr<HttpApi> make_http_api(HttpApiSetup setup) {
  return std::make_unique<ApiRouter>(std::move(setup));
}

}  // namespace kvmm
