#include "app/api/api_router.h"

#include <algorithm>
#include <cstring>

#include "base/util/json_writer.h"

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

}  // namespace

ApiRouter::ApiRouter() {
  // A malformed target is 400 before any route sees it (RFC 9112 section 3.2:
  // an invalid request line should be answered 400).
  set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (origin_form(req.target)) return HandlerResponse::Unhandled;
    res.status = 400;
    res.set_content(error_body("malformed request target: it must be a path such as "
                               "/api/v1/vm.info, of RFC 3986 characters"),
                    "application/json");
    return HandlerResponse::Handled;
  });
  // Every error httplib itself answers (400 for a malformed request, 404,
  // 413 for a body over set_payload_max_length) carries a JSON body too.
  set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const char* message = "the request was refused";
    switch (res.status) {
      case 400: message = "malformed HTTP request"; break;
      case 404: message = "no such endpoint; see docs/api.md"; break;
      case 413: message = "request body too large"; break;
      case 414: message = "request line too long"; break;
      default: break;
    }
    res.set_content(error_body(message), "application/json");
  });
}

ApiRouter::Result ApiRouter::handle(std::string_view input, bool input_ended, int peer_pid) {
  ReceivedStream stream(input, input_ended, peer_pid);
  bool closed = false;
  process_request(stream, /*close_connection=*/true, closed, [](httplib::Request&) {});
  if (stream.starved()) return Result{};
  return Result{true, stream.take_output()};
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
