// The client half of the HTTP module: one request over a VM's unix socket
// (api_client.h says what kvmm makes of the reply).
#include <sys/socket.h>

#include "app/api/http/api_router.h"

namespace kvmm {

HttpReply http_call(const std::string& socket, const std::string& method,
                    const std::string& target, std::chrono::milliseconds timeout) {
  httplib::ClientImpl client(socket, 80);
  client.set_address_family(AF_UNIX);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Result result = method == "PUT" ? client.Put(target.c_str()) : client.Get(target.c_str());
  HttpReply reply;
  if (!result) {
    const httplib::Error error = result.error();
    reply.outcome = error == httplib::Error::Connection ? HttpReply::Outcome::kNoConnection
                                                        : HttpReply::Outcome::kFailed;
    reply.error = httplib::to_string(error);
    return reply;
  }
  reply.outcome = HttpReply::Outcome::kAnswered;
  reply.status = result->status;
  reply.body = result->body;
  return reply;
}

}  // namespace kvmm
