#include "control/control_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <unistd.h>

#include <random>

#include "common/log.hpp"
#include "control/connection.hpp"
#include "control/control_thread.hpp"
#include "control/unix_listener.hpp"
#include "metrics/metrics.hpp"

namespace sb::control {

using nlohmann::json;

std::string makeUuid() {
  std::random_device rd;
  uint8_t b[16];
  for (auto& x : b) x = static_cast<uint8_t>(rd());
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

// ---- Connection ----

Connection::Connection(ControlServer& server, uint64_t id, bufferevent* bev, size_t maxLine, std::string tabUuid)
    : server_(server), id_(id), bev_(bev), maxLine_(maxLine), tabUuid_(std::move(tabUuid)) {
  bufferevent_setcb(bev_, &Connection::onRead, nullptr, &Connection::onEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

Connection::~Connection() { bufferevent_free(bev_); }

void Connection::write(const std::string& line) {
  bufferevent_write(bev_, line.data(), line.size());
  bufferevent_write(bev_, "\n", 1);
}

void Connection::onRead(bufferevent*, void* self) { static_cast<Connection*>(self)->readLines(); }

void Connection::onEvent(bufferevent*, short what, void* self) {
  auto* c = static_cast<Connection*>(self);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) c->server_.onClosed(c->id_);  // deletes c
}

void Connection::readLines() {
  evbuffer* in = bufferevent_get_input(bev_);
  const uint64_t id = id_;
  while (true) {
    size_t len = 0;
    char* line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
    if (!line) {
      if (evbuffer_get_length(in) > maxLine_) {
        evbuffer_drain(in, evbuffer_get_length(in));
        if (!discarding_)
          server_.send(id, json{{"id", nullptr}, {"status", "error"}, {"errorCode", "lineTooLong"},
                                {"errorMsg", "a request line may be at most " + std::to_string(maxLine_) + " bytes"}});
        discarding_ = true;
      }
      return;
    }
    std::string text(line, len);
    std::free(line);
    if (discarding_) {  // the tail of an over-long line
      discarding_ = false;
      continue;
    }
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) continue;
    server_.onLine(*this, text);
  }
}

// ---- Reply ----

void ControlServer::Reply::success(json data) const {
  server_->metrics_.controlRequest(method_, "success").Increment();
  server_->send(connectionId_, json{{"id", id_}, {"status", "success"}, {"data", std::move(data)}});
}

void ControlServer::Reply::error(const std::string& code, const std::string& message) const {
  server_->metrics_.controlRequest(method_, "error").Increment();
  server_->send(connectionId_,
                json{{"id", id_}, {"status", "error"}, {"errorCode", code}, {"errorMsg", message}});
}

// ---- ControlServer ----

ControlServer::ControlServer(ControlThread& thread, config::Control config, metrics::Metrics& metrics, Limits limits)
    : thread_(thread), config_(std::move(config)), metrics_(metrics), limits_(limits) {}

ControlServer::~ControlServer() { close(); }

void ControlServer::addMethod(const std::string& name, Handler handler) { methods_[name] = std::move(handler); }

void ControlServer::listen() {
  const int fd = bindUnixSocket(config_.socket, config_.mode);
  listener_ = evconnlistener_new(thread_.base(), &ControlServer::onAccept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  if (!listener_) {
    ::close(fd);
    throw std::runtime_error("control.socket " + config_.socket + ": cannot listen");
  }
  SB_INFO("control", "listening on %s", config_.socket.c_str());
}

void ControlServer::close() {
  if (listener_) {
    evconnlistener_free(listener_);
    listener_ = nullptr;
    unlink(config_.socket.c_str());
  }
  connections_.clear();
  metrics_.controlClients.Set(0);
}

bool ControlServer::permitted(int fd) const {
  const long uid = peerUid(fd);
  if (uid < 0) return false;
  if (config_.allowedUids.empty()) return uid == 0 || uid == static_cast<long>(getuid());
  for (unsigned allowed : config_.allowedUids)
    if (static_cast<long>(allowed) == uid) return true;
  return false;
}

void ControlServer::onAccept(evconnlistener*, int fd, ::sockaddr*, int, void* self) {
  auto* s = static_cast<ControlServer*>(self);
  if (!s->permitted(fd)) {
    SB_WARN("control", "refused a client: uid %ld is not in control.allowedUids", peerUid(fd));
    s->metrics_.controlRequest("", "refused").Increment();
    ::close(fd);
    return;
  }
  if (s->connections_.size() >= s->limits_.maxClients) {
    SB_WARN("control", "refused a client: %zu clients already connected", s->connections_.size());
    s->metrics_.controlRequest("", "refused").Increment();
    ::close(fd);
    return;
  }
  bufferevent* bev = bufferevent_socket_new(s->thread_.base(), fd, BEV_OPT_CLOSE_ON_FREE);
  const uint64_t id = s->nextConnectionId_++;
  auto conn = std::make_unique<Connection>(*s, id, bev, s->limits_.maxLineBytes, makeUuid());
  const std::string tab = conn->tabUuid();
  s->connections_[id] = std::move(conn);
  s->metrics_.controlClients.Set(static_cast<double>(s->connections_.size()));
  s->send(id, json{{"event", "ready"}, {"seq", s->lastSeq_}, {"data", {{"tabUUID", tab}}}});
}

void ControlServer::onClosed(uint64_t connectionId) {
  connections_.erase(connectionId);
  metrics_.controlClients.Set(static_cast<double>(connections_.size()));
}

void ControlServer::send(uint64_t connectionId, const json& message) {
  auto it = connections_.find(connectionId);
  if (it == connections_.end()) return;  // the client left before its answer
  it->second->write(message.dump(-1, ' ', false, json::error_handler_t::replace));
}

void ControlServer::onLine(Connection& conn, const std::string& line) {
  json request = json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    Reply(this, conn.id(), nullptr, "").error("badRequest", "the line is not a JSON object");
    return;
  }
  json id = request.contains("id") ? request["id"] : json(nullptr);
  if (!request.contains("method") || !request["method"].is_string()) {
    Reply(this, conn.id(), id, "").error("badRequest", "a request needs a string 'method'");
    return;
  }
  const std::string method = request["method"];
  json params = request.contains("params") ? request["params"] : json::object();
  if (!params.is_object()) {
    Reply(this, conn.id(), id, method).error("invalidParams", "'params' must be an object");
    return;
  }
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    Reply(this, conn.id(), id, "").error("unknownMethod", "no method named '" + method + "'");
    return;
  }
  it->second(params, Reply(this, conn.id(), std::move(id), method));
}

}  // namespace sb::control
