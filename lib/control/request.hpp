#pragma once
// One decoded, validated request and the way to answer it. A handler may answer at
// once or later (after a round trip to the SIP thread); Reply is a small value that
// can be copied into closures and stays safe after its connection has gone.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace sb::control {

class ControlServer;

class Reply {
 public:
  Reply(ControlServer* server, uint64_t connectionId, nlohmann::json id, std::string method)
      : server_(server), connectionId_(connectionId), id_(std::move(id)), method_(std::move(method)) {}
  // Call exactly one of these, once, on the control thread.
  void success(nlohmann::json data = nlohmann::json::object()) const;
  void error(const std::string& code, const std::string& message) const;

  uint64_t connectionId() const { return connectionId_; }
  const std::string& method() const { return method_; }

 private:
  ControlServer* server_;
  uint64_t connectionId_;
  nlohmann::json id_;
  std::string method_;
};

struct Request {
  nlohmann::json params;    // validated against the method's declaration
  uint64_t connectionId = 0;
  std::string tabUuid;      // the connection's name, as in the `ready` event
  std::string loginUserId;  // the Client.login binding, or empty
  Reply reply;
};

using Handler = std::function<void(const Request&)>;

}  // namespace sb::control
