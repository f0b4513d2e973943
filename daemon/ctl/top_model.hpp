#pragma once
// `seatbridgectl top`'s picture of the gateway: queues, agents, live calls. It is
// loaded once from Gateway.listQueues / listAgents / listSessions and then kept
// current by applying events in seq order. Every event it applies sets a value
// (a status, a queue's figures, a call's state) rather than adding to one, so
// events read while a snapshot was being taken can be applied after it in order
// and still leave the picture as the daemon has it.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sb::ctl {

class TopModel {
 public:
  // Clocks: `mono` (ms, steady) measures ages; `wall` (ms since the epoch) reads
  // the daemon's timestamps (same host: the socket is local).
  void loadQueues(const nlohmann::json& data, int64_t mono);
  void loadAgents(const nlohmann::json& data, int64_t mono);
  void loadSessions(const nlohmann::json& data, int64_t wall);

  // Applies one event. Returns true when it named a call the model does not
  // know, moved one (a transfer), or a queue grew (a new customer): the caller
  // re-reads Gateway.listSessions.
  bool apply(const nlohmann::json& event, int64_t mono, int64_t wall);

  // The view for --json: {queues: [...], agents: [...], calls: [...]}, ages as of now.
  nlohmann::json toJson(int64_t mono, int64_t wall) const;
  // The view's body, one string per line, without the title and status lines.
  std::vector<std::string> render(int64_t mono, int64_t wall) const;

  uint64_t lastSeq() const { return lastSeq_; }
  // Where the stream stood at the subscription (its answer's lastSeq).
  void startAt(uint64_t seq) { lastSeq_ = seq; }

 private:
  struct Queue {
    std::string skillGroup, name;
    int64_t waiting = 0;
    int64_t oldestWaitMs = 0;
    int64_t atMono = 0;  // when oldestWaitMs was true
  };
  struct Agent {
    std::string userId, name, extension, status, restReason;
    int64_t sinceMono = 0;
  };
  struct Call {
    std::string sessionId, customer, userId, state, skillGroup, direction;
    int64_t startedWall = 0;
  };

  int64_t oldestWait(const Queue& q, int64_t mono) const;
  Queue& queue(const std::string& skillGroup);
  std::vector<const Call*> callsInOrder() const;

  std::vector<Queue> queues_;  // skill-group order
  std::vector<Agent> agents_;  // configured order
  std::map<std::string, Call> calls_;
  uint64_t lastSeq_ = 0;
};

}  // namespace sb::ctl
