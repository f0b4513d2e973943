#pragma once
// The control socket's server side, on the control thread: accepts local clients
// (checked by SO_PEERCRED), frames NDJSON, answers each request through the
// method table, and writes events. Handlers may answer later (after a round trip
// to the SIP thread): a Reply outlives its connection safely.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"

struct event_base;
struct evconnlistener;
struct sockaddr;

namespace sb::metrics {
class Metrics;
}

namespace sb::control {

class ControlThread;
class Connection;

struct Limits {
  size_t maxLineBytes = 64 * 1024;
  size_t maxClients = 256;
};

class ControlServer {
 public:
  // Answers one request; call exactly once, on the control thread.
  class Reply {
   public:
    Reply(ControlServer* server, uint64_t connectionId, nlohmann::json id, std::string method)
        : server_(server), connectionId_(connectionId), id_(std::move(id)), method_(std::move(method)) {}
    void success(nlohmann::json data = nlohmann::json::object()) const;
    void error(const std::string& code, const std::string& message) const;

   private:
    ControlServer* server_;
    uint64_t connectionId_;
    nlohmann::json id_;
    std::string method_;
  };
  using Handler = std::function<void(const nlohmann::json& params, const Reply& reply)>;

  ControlServer(ControlThread& thread, config::Control config, metrics::Metrics& metrics, Limits limits = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void addMethod(const std::string& name, Handler handler);
  // Binds the socket; on the control thread. Throws std::runtime_error.
  void listen();
  // Closes the listener and every client; on the control thread.
  void close();

  // Called by connections, on the control thread.
  void onLine(Connection& conn, const std::string& line);
  void onClosed(uint64_t connectionId);
  void send(uint64_t connectionId, const nlohmann::json& message);

 private:
  static void onAccept(evconnlistener*, int fd, ::sockaddr*, int, void* self);
  bool permitted(int fd) const;

  ControlThread& thread_;
  config::Control config_;
  metrics::Metrics& metrics_;
  Limits limits_;
  evconnlistener* listener_ = nullptr;
  std::map<std::string, Handler> methods_;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t nextConnectionId_ = 1;
  uint64_t lastSeq_ = 0;
};

// A random RFC 4122 version-4 UUID.
std::string makeUuid();

}  // namespace sb::control
