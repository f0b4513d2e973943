#include "control/control_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <unistd.h>


#include "common/c_callback.hpp"
#include "common/log.hpp"
#include "control/connection.hpp"
#include "control/control_thread.hpp"
#include "control/request_decoder.hpp"
#include "control/errors.hpp"
#include "common/ids.hpp"
#include "control/unix_listener.hpp"
#include "metrics/metrics.hpp"

namespace sb::control {

using nlohmann::json;
using nlohmann::ordered_json;

std::string makeUuid() { return uuidV4(); }

std::string eventLine(const std::string& name, uint64_t seq, const std::string& userId, const json& data) {
  // Assembled from pieces the library serialises, so that `event` leads the line
  // (nlohmann::json would sort the keys) without building an ordered object per event.
  const std::string body = data.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string line;
  // About the final size at once (64: the fixed parts, seq, quotes): the history
  // keeps every line, and growing it piece by piece left up to half of each unused.
  line.reserve(body.size() + name.size() + userId.size() + 64);
  line += "{\"event\":";
  line += json(name).dump();
  line += ",\"seq\":";
  line += std::to_string(seq);
  if (!userId.empty()) {
    line += ",\"userId\":";
    line += json(userId).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  line += ",\"data\":";
  line += body;
  line += "}\n";
  return line;
}

uint64_t seqBaseFor(int64_t wallClockMs) { return static_cast<uint64_t>(wallClockMs > 0 ? wallClockMs : 0) * 1000; }

// ---- Reply ----

void Reply::success(json data) const {
  server_->sendAnswer(connectionId_, method_, true,
                      ordered_json{{"id", id_}, {"status", "success"}, {"data", std::move(data)}});
}

void Reply::error(const std::string& code, const std::string& message) const {
  server_->sendAnswer(connectionId_, method_, false,
                      ordered_json{{"id", id_}, {"status", "error"}, {"errorCode", code}, {"errorMsg", message}});
}

// ---- ControlServer ----

ControlServer::ControlServer(ControlThread& thread, config::Control config, metrics::Metrics& metrics, Limits limits)
    : thread_(thread), config_(std::move(config)), metrics_(metrics), limits_(limits), history_(limits.historyEvents, limits.historyBytes) {}

ControlServer::~ControlServer() { close(); }

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

void ControlServer::refuse(int fd, const char* code, const std::string& message) {
  metrics_.controlRequest("", "refused").Increment();
  // Best effort, never blocking: the client learns why before the close.
  const std::string line =
      ordered_json{{"id", nullptr}, {"status", "error"}, {"errorCode", code}, {"errorMsg", message}}.dump() + "\n";
  (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
}

void ControlServer::onAccept(evconnlistener*, int fd, ::sockaddr*, int, void* self) noexcept {
  guardedCallback("control", "accepting a client", [&] { static_cast<ControlServer*>(self)->accept(fd); });
}

void ControlServer::accept(int fd) {
  if (!permitted(fd)) {
    SB_WARN("control", "refused a client: uid %ld is not in control.allowedUids", peerUid(fd));
    refuse(fd, errc::notPermitted, "this uid may not use the control socket (control.allowedUids)");
    return;
  }
  if (connections_.size() >= limits_.maxClients) {
    SB_WARN("control", "refused a client: %zu clients already connected", connections_.size());
    refuse(fd, errc::tooManyClients,
           "the daemon serves at most " + std::to_string(limits_.maxClients) + " control clients");
    return;
  }
  bufferevent* bev = bufferevent_socket_new(thread_.base(), fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    ::close(fd);
    return;
  }
  const uint64_t id = nextConnectionId_++;
  auto conn = std::make_unique<Connection>(*this, id, bev, limits_, makeUuid());
  Connection& c = *conn;
  connections_[id] = std::move(conn);
  metrics_.controlClients.Set(static_cast<double>(connections_.size()));
  // `seq` here is the last event emitted so far: the next one this client can see is seq+1.
  c.writeLine(eventLine("ready", lastSeq(), "", json{{"tabUUID", c.tabUuid()}}));
}

void ControlServer::onClosed(uint64_t connectionId) {
  connections_.erase(connectionId);
  metrics_.controlClients.Set(static_cast<double>(connections_.size()));
}

prometheus::Counter& ControlServer::requestCounter(const std::string& method, bool success) {
  auto it = counters_.find(method);
  if (it == counters_.end()) {
    // Only declared names get here (and ""), so the label set stays bounded.
    it = counters_
             .emplace(method, std::make_pair(&metrics_.controlRequest(method, "success"),
                                             &metrics_.controlRequest(method, "error")))
             .first;
  }
  return success ? *it->second.first : *it->second.second;
}

void ControlServer::sendAnswer(uint64_t connectionId, const std::string& method, bool success,
                               const ordered_json& answer) {
  requestCounter(method, success).Increment();
  auto it = connections_.find(connectionId);
  if (it == connections_.end()) return;  // the client left before its answer
  std::string line = answer.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  it->second->writeLine(line);
}

void ControlServer::answerError(Connection& conn, const json& id, const std::string& method, const std::string& code,
                                const std::string& message) {
  Reply(this, conn.id(), id, method).error(code, message);
}

void ControlServer::onLine(Connection& conn, std::string_view line) {
  auto decoded = decodeRequest(line, methods_, conn.loginUserId());
  if (auto* e = std::get_if<DecodeError>(&decoded)) {
    answerError(conn, e->id, e->method, e->code, e->message);
    return;
  }
  auto& d = std::get<DecodedRequest>(decoded);
  const MethodSpec* spec = d.spec;
  Request r{std::move(d.params), conn.id(), conn.tabUuid(), conn.loginUserId(),
            Reply(this, conn.id(), std::move(d.id), spec->name)};
  try {
    spec->handler(r);
  } catch (const std::exception& e) {
    SB_ERROR("control", "%s failed: %s", spec->name.c_str(), e.what());
    r.reply.error(errc::internalError, std::string("the request failed: ") + e.what());
  }
}

// ---- events ----

void ControlServer::publish(std::vector<PublishedEvent>& batch, LostRange lost) {
  std::vector<StoredEvent> stored;
  stored.reserve(batch.size());
  std::string all;  // the whole batch, for `all` subscribers with room for it
  bool plain = true;  // no topic event in it: `all` is what an `all` subscriber gets
  for (auto& e : batch) {
    std::string line = eventLine(e.name, e.seq, e.userId, e.data);
    all += line;
    plain = plain && e.topic.empty();
    stored.push_back(StoredEvent{e.seq, std::move(e.userId), std::move(line), std::move(e.topic)});
  }
  uint64_t dropped = 0;
  for (auto& [id, c] : connections_) {
    if (stored.empty() || (plain && c->deliverAll(all))) continue;
    for (const auto& e : stored)
      if (!c->deliver(e)) ++dropped;
  }
  for (auto& e : stored) history_.push(std::move(e));
  // Lost seqs come after the batch: the outlet loses only once its queue is full.
  if (lost.toSeq != 0) {
    SB_WARN("control", "events %llu..%llu lost: the control thread fell behind",
            static_cast<unsigned long long>(lost.fromSeq), static_cast<unsigned long long>(lost.toSeq));
    history_.markLost(lost.toSeq);
    for (auto& [id, c] : connections_) {
      if (c->subscription().any()) dropped += lost.toSeq - lost.fromSeq + 1;
      c->reportLost(lost.fromSeq, lost.toSeq);
    }
  }
  for (auto& [id, c] : connections_) c->flush();
  if (dropped) metrics_.controlEventsDropped.Increment(static_cast<double>(dropped));
}

void ControlServer::login(uint64_t connectionId, const std::string& userId) {
  auto it = connections_.find(connectionId);
  if (it == connections_.end()) return;
  it->second->setLoginUserId(userId);
  // A bound connection follows its own agent unless it chose otherwise.
  if (!it->second->subscription().any()) it->second->setSubscription(Subscription{false, {userId}});
}

json ControlServer::subscribe(uint64_t connectionId, Subscription subscription) {
  json answer{{"all", subscription.all},
              {"userIds", json(std::vector<std::string>(subscription.userIds.begin(), subscription.userIds.end()))},
              {"queues", subscription.queues},
              {"lastSeq", lastSeq()}};
  auto it = connections_.find(connectionId);
  if (it != connections_.end()) it->second->setSubscription(std::move(subscription));
  return answer;
}

void ControlServer::resume(uint64_t connectionId, uint64_t fromSeq, const Reply& reply) {
  auto it = connections_.find(connectionId);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (!c.subscription().any()) {
    reply.error(errc::notSubscribed, "Client.subscribe first: a resume replays the events a subscription selects");
    return;
  }
  if (fromSeq == 0) fromSeq = 1;
  if (fromSeq > lastSeq() + 1) {
    // Not a seq of this run: from a run before a restart whose clock was ahead
    // (seqBaseFor), or never issued. Either way the client must re-read the state.
    reply.error(errc::resumeUnavailable, "fromSeq " + std::to_string(fromSeq) + " is beyond the next seq " +
                                             std::to_string(lastSeq() + 1) +
                                             ": re-read the state with Gateway.* and follow the live events");
    return;
  }
  if (!history_.canReplayFrom(fromSeq)) {
    reply.error(errc::resumeUnavailable, "the history starts at seq " + std::to_string(history_.oldestReplayable()) +
                                             ": re-read the state with Gateway.* and follow the live events");
    return;
  }
  uint64_t count = 0;
  history_.forEachFrom(fromSeq, [&](const StoredEvent& e) { count += c.subscription().matches(e.userId, e.topic) ? 1 : 0; });
  reply.success(json{{"fromSeq", fromSeq}, {"toSeq", lastSeq()}, {"replayed", count}});
  uint64_t dropped = 0;
  history_.forEachFrom(fromSeq, [&](const StoredEvent& e) { dropped += c.deliver(e) ? 0 : 1; });
  c.flush();
  if (dropped) metrics_.controlEventsDropped.Increment(static_cast<double>(dropped));
}

}  // namespace sb::control
