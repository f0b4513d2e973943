#pragma once
// The control socket's server side, on the control thread: accepts local clients
// (checked by SO_PEERCRED), frames NDJSON, validates each request against the
// method table and hands it to the method's handler, and fans events out to
// subscribed connections with a bounded history for Client.resume.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "control/event_outlet.hpp"
#include "control/history_ring.hpp"
#include "control/method_table.hpp"
#include "control/request.hpp"
#include "control/subscription.hpp"

struct evconnlistener;
struct sockaddr;

namespace prometheus {
class Counter;
}
namespace sb::metrics {
class Metrics;
}

namespace sb::control {

class ControlThread;
class Connection;

// The seq this run starts after: the start time in ms times 1000. Seqs then keep
// rising across restarts (a run would need over 1000 events per ms of its life to
// catch up with the next one), so a client resuming with a seq from before a
// restart is told resumeUnavailable instead of being replayed the wrong events,
// and seqs stay below 2^53, exact in every JSON reader, until the 23rd century.
uint64_t seqBaseFor(int64_t wallClockMs);

struct Limits {
  size_t maxLineBytes = 64 * 1024;        // a longer request line is refused (lineTooLong)
  size_t maxClients = 256;                // further connections are refused (tooManyClients)
  size_t maxQueuedBytes = 1024 * 1024;    // events queued for one client beyond this are dropped
  size_t resumeBelowBytes = 256 * 1024;   // ... until its queue drains to this
  size_t pauseReadingBytes = 8 * 1024 * 1024;  // stop reading requests while answers pile up beyond this
  size_t historyEvents = 65536;           // events kept for Client.resume
  size_t historyBytes = 16u << 20;        // and at most this much of them
  size_t outletPending = 1 << 20;         // events waiting for the control thread before they are lost
};

class ControlServer {
 public:
  ControlServer(ControlThread& thread, config::Control config, metrics::Metrics& metrics, Limits limits = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Before listen(): this run numbers its events after `seq`; every seq up to it
  // belongs to an earlier run and cannot be replayed (resumeUnavailable).
  void startAfter(uint64_t seq) { history_.markLost(seq); }
  // Before listen(); the table must outlive the server.
  void setMethods(const MethodTable* methods) { methods_ = methods; }
  // Binds the socket; on the control thread. Throws std::runtime_error.
  void listen();
  // Closes the listener and every client; on the control thread.
  void close();
  const Limits& limits() const { return limits_; }

  // ---- events (control thread) ----
  // A batch from the EventOutlet: numbered, stored for resume, fanned out.
  void publish(std::vector<PublishedEvent>& batch, LostRange lost);
  uint64_t lastSeq() const { return history_.lastSeq(); }

  // ---- connection state, for the Client.* handlers (control thread) ----
  bool connected(uint64_t connectionId) const { return connections_.count(connectionId) > 0; }
  size_t clientCount() const { return connections_.size(); }
  void login(uint64_t connectionId, const std::string& userId);
  // Replaces the subscription; answers its description.
  nlohmann::json subscribe(uint64_t connectionId, Subscription subscription);
  // Answers the request, then replays the held events from fromSeq that the
  // connection's subscription wants (the answer comes first, then the events).
  void resume(uint64_t connectionId, uint64_t fromSeq, const Reply& reply);

  // ---- called by connections and replies (control thread) ----
  void onLine(Connection& conn, std::string_view line);
  void onClosed(uint64_t connectionId);
  void sendAnswer(uint64_t connectionId, const std::string& method, bool success, const nlohmann::ordered_json& answer);

 private:
  static void onAccept(evconnlistener*, int fd, ::sockaddr*, int, void* self) noexcept;
  void accept(int fd);
  bool permitted(int fd) const;
  void refuse(int fd, const char* code, const std::string& message);
  void answerError(Connection& conn, const nlohmann::json& id, const std::string& method, const std::string& code,
                   const std::string& message);
  prometheus::Counter& requestCounter(const std::string& method, bool success);

  ControlThread& thread_;
  config::Control config_;
  metrics::Metrics& metrics_;
  Limits limits_;
  const MethodTable* methods_ = nullptr;
  evconnlistener* listener_ = nullptr;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t nextConnectionId_ = 1;
  HistoryRing history_;
  std::unordered_map<std::string, std::pair<prometheus::Counter*, prometheus::Counter*>> counters_;
};

// A random RFC 4122 version-4 UUID.
std::string makeUuid();

// One event as an NDJSON line (with its newline): {"event","seq","userId","data"}.
std::string eventLine(const std::string& name, uint64_t seq, const std::string& userId, const nlohmann::json& data);

}  // namespace sb::control
