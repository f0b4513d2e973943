#include "daemon/ctl/top_model.hpp"

#include <algorithm>

#include "daemon/ctl/format.hpp"

namespace sb::ctl {

using nlohmann::json;

namespace {

std::string str(const json& o, const char* key) {
  return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
}

int64_t num(const json& o, const char* key) {
  return o.contains(key) && o[key].is_number() ? o[key].get<int64_t>() : 0;
}

// The number on the customer's side of the call: who called in, or who an agent called.
std::string customerOf(const json& s) {
  if (str(s, "type") == "internal") return str(s, "peerUserId");
  return str(s, "direction") == "outbound" ? str(s, "calleePhoneNumber") : str(s, "callerPhoneNumber");
}

// A live session's state, named as an operator reads it: core's offering is
// the customer still waiting in the queue.
std::string stateName(const std::string& s) { return s == "offering" ? "queued" : s; }

}  // namespace

TopModel::Queue& TopModel::queue(const std::string& skillGroup) {
  for (auto& q : queues_)
    if (q.skillGroup == skillGroup) return q;
  queues_.push_back(Queue{skillGroup, skillGroup});
  return queues_.back();
}

void TopModel::loadQueues(const json& data, int64_t mono) {
  queues_.clear();
  for (const auto& q : data.value("queues", json::array()))
    queues_.push_back(Queue{str(q, "skillGroup"), str(q, "name"), num(q, "waiting"), num(q, "oldestWaitMs"), mono});
}

void TopModel::loadAgents(const json& data, int64_t mono) {
  agents_.clear();
  for (const auto& a : data.value("agents", json::array()))
    agents_.push_back(Agent{str(a, "userId"), str(a, "name"), str(a, "extensionId"), str(a, "status"),
                            str(a, "restReason"), mono - num(a, "statusDurationMs")});
}

void TopModel::loadSessions(const json& data, int64_t /*wall*/) {
  calls_.clear();
  for (const auto& s : data.value("sessions", json::array())) {
    if (str(s, "state") == "ended") continue;  // listed until Call.deleteCall, but over
    calls_[str(s, "sessionId")] =
        Call{str(s, "sessionId"),    customerOf(s),       str(s, "userId"),   stateName(str(s, "state")),
             str(s, "skillGroupId"), str(s, "direction"), num(s, "createdAt")};
  }
}

bool TopModel::apply(const json& e, int64_t mono, int64_t /*wall*/) {
  if (!e.is_object() || !e.contains("event")) return false;
  if (e.contains("seq") && e["seq"].is_number_unsigned()) lastSeq_ = std::max(lastSeq_, e["seq"].get<uint64_t>());
  const std::string name = str(e, "event"), userId = str(e, "userId");
  const json data = e.value("data", json::object());
  if (name == "queueChanged") {
    Queue& q = queue(str(data, "skillGroup"));
    const int64_t before = q.waiting;
    q.waiting = num(data, "waiting");
    q.oldestWaitMs = num(data, "oldestWaitMs");
    q.atMono = mono;
    // A customer arrived: no SDK event names a call before an agent is
    // offered it, so the new call is read from Gateway.listSessions.
    return q.waiting > before;
  }
  if (name == "statusChanged") {
    for (auto& a : agents_)
      if (a.userId == userId) {
        a.status = str(data, "status");
        a.restReason = str(data, "restReason");
        a.sinceMono = mono;
      }
    return false;
  }
  const std::string sessionId = str(data, "sessionId");
  if (sessionId.empty()) return false;
  if (name == "sessionEnded") {
    calls_.erase(sessionId);
    return false;
  }
  auto it = calls_.find(sessionId);
  // Events for calls are those of the SDK; any we do not know a meaning of for
  // the view (dtmf, recording...) changes nothing in it.
  static const std::map<std::string, std::string> states = {
      {"callIn", "ringing"},      {"userAccessed", "active"}, {"calloutAccepted", "active"},
      {"autoTransfer", "queued"}, {"hold", "held"},           {"unHold", "active"},
      {"takenOver", "active"},    {"callOuted", "ringing"},   {"transfer", "active"}};
  const auto st = states.find(name);
  if (st == states.end()) return false;
  if (it == calls_.end()) return true;  // a call the snapshot did not have: re-read it
  Call& c = it->second;
  c.state = st->second;
  if (name == "callIn" || name == "takenOver") c.userId = userId;
  if (name == "autoTransfer") c.userId.clear();
  return name == "transfer";  // the customer moved to another queue or agent: re-read
}

int64_t TopModel::oldestWait(const Queue& q, int64_t mono) const {
  return q.waiting > 0 ? q.oldestWaitMs + std::max<int64_t>(0, mono - q.atMono) : 0;
}

std::vector<const TopModel::Call*> TopModel::callsInOrder() const {
  std::vector<const Call*> out;
  for (const auto& [id, c] : calls_) out.push_back(&c);
  std::sort(out.begin(), out.end(), [](const Call* a, const Call* b) {
    return a->startedWall != b->startedWall ? a->startedWall < b->startedWall : a->sessionId < b->sessionId;
  });
  return out;
}

json TopModel::toJson(int64_t mono, int64_t wall) const {
  json queues = json::array(), agents = json::array(), calls = json::array();
  for (const auto& q : queues_)
    queues.push_back({{"skillGroup", q.skillGroup},
                      {"name", q.name},
                      {"waiting", q.waiting},
                      {"oldestWaitMs", oldestWait(q, mono)}});
  for (const auto& a : agents_)
    agents.push_back({{"userId", a.userId},
                      {"name", a.name},
                      {"extensionId", a.extension},
                      {"status", a.status},
                      {"restReason", a.restReason},
                      {"statusDurationMs", std::max<int64_t>(0, mono - a.sinceMono)}});
  for (const Call* c : callsInOrder())
    calls.push_back({{"sessionId", c->sessionId},
                     {"customer", c->customer},
                     {"userId", c->userId},
                     {"state", c->state},
                     {"skillGroup", c->skillGroup},
                     {"durationMs", c->startedWall ? std::max<int64_t>(0, wall - c->startedWall) : 0}});
  return json{{"lastSeq", lastSeq_}, {"queues", queues}, {"agents", agents}, {"calls", calls}};
}

std::vector<std::string> TopModel::render(int64_t mono, int64_t wall) const {
  std::vector<std::string> out;
  const auto append = [&out](const Table& t) {
    for (auto& line : t.lines()) out.push_back(std::move(line));
  };
  Table queues({"QUEUE", "NAME", "WAITING", "OLDEST"});
  for (const auto& q : queues_)
    queues.add({q.skillGroup, q.name.empty() ? "-" : q.name, std::to_string(q.waiting),
                q.waiting ? duration(oldestWait(q, mono)) : "-"});
  append(queues);
  out.emplace_back();
  Table agents({"AGENT", "NAME", "EXTENSION", "STATUS", "SINCE"});
  for (const auto& a : agents_)
    agents.add({a.userId, a.name.empty() ? "-" : a.name, a.extension.empty() ? "-" : a.extension,
                a.status + (a.restReason.empty() ? "" : " (" + a.restReason + ")"),
                duration(std::max<int64_t>(0, mono - a.sinceMono))});
  append(agents);
  out.emplace_back();
  const auto calls = callsInOrder();
  if (calls.empty()) {
    out.emplace_back("no live calls");
  } else {
    Table t({"CALL", "CUSTOMER", "AGENT", "STATE", "DURATION"});
    for (const Call* c : calls)
      t.add({c->sessionId.substr(0, 8), c->customer.empty() ? "-" : c->customer, c->userId.empty() ? "-" : c->userId,
             c->state, c->startedWall ? duration(std::max<int64_t>(0, wall - c->startedWall)) : "-"});
    append(t);
  }
  return out;
}

}  // namespace sb::ctl
