#pragma once
// The fixture the call tests share: a sales group, alice (1001, priority 1),
// bob (1002, priority 2), dan (mobile only, useMobileAccept 2), a fake clock,
// and helpers to read what core decided.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/gateway.hpp"
#include "fakes.hpp"

namespace sb::core::test::calls {

using nlohmann::json;

inline const std::string kAlice = "alice@example.com";
inline const std::string kBob = "bob@example.com";
inline const std::string kDan = "dan@example.com";
inline const std::string kNumber = "+15550199000";

inline sb::config::Agent agentOf(const std::string& userId, const std::string& extension, int priority) {
  sb::config::Agent a;
  a.userId = userId;
  a.name = userId;
  a.extension = extension;
  a.skillGroups = {{"sales", priority}};
  return a;
}

inline Directory callDirectory() {
  Directory d;
  d.skillGroups = {{"sales", "Sales", 20, 120, 10, 0, 20, "", {}, {}, "", ""}};
  sb::config::Agent dan = agentOf(kDan, "", 3);
  dan.mobile = "+15550100004";
  dan.useMobileAccept = 2;
  d.agents = {agentOf(kAlice, "1001", 1), agentOf(kBob, "1002", 2), dan};
  for (const char* id : {"1001", "1002"}) {
    sb::config::Extension e;
    e.id = id;
    e.name = std::string("Desk ") + id;
    d.extensions.push_back(e);
  }
  d.numbers = {{kNumber, "sales"}};
  d.trunks = {"pbx"};
  return d;
}

struct Fixture {
  FakeClock clock;
  CountingRandom random;
  Gateway gw;
  explicit Fixture(Directory d = callDirectory()) : gw(std::move(d), random, clock.now(), 1'700'000'000'000) {}

  void registerPhone(const std::string& ext) {
    gw.onFact(ExtensionRegistered{ext, {{"sip:" + ext + "@127.0.0.1:5070", "udp:127.0.0.1:5070", "", 0, true}}},
              clock.now());
  }
  void online(const std::string& userId) { REQUIRE(gw.agentOnline(userId, clock.now()).result.ok()); }
  InboundDecision call(const std::string& number = kNumber) {
    return gw.onInboundCall(InboundCall{"pbx", number, "+15550100999", "", json::array(), ""}, clock.now());
  }
  Outputs fact(LegFact f) { return gw.onLegFact(f, clock.now()); }
  // Fires the first started timer of `out` after moving the clock to it.
  Outputs fire(const TimerAction& t) {
    clock.t = t.deadline;
    return gw.onTimer(t.id, clock.now());
  }
};

inline std::vector<std::string> names(const Outputs& out) {
  std::vector<std::string> v;
  for (const auto& e : out.events())
    v.push_back(e.name + ":" + e.userId.value_or("") +
                (e.name == "statusChanged" ? "=" + e.data["status"].get<std::string>() : ""));
  return v;
}

// The index of the first action of type T in `out` (or -1).
template <typename T>
int indexOf(const Outputs& out) {
  for (size_t i = 0; i < out.actions.size(); ++i)
    if (std::holds_alternative<T>(out.actions[i])) return static_cast<int>(i);
  return -1;
}

inline TimerAction startedTimer(const Outputs& out, size_t nth = 0) {
  size_t seen = 0;
  for (const auto& t : out.timers())
    if (t.op == TimerAction::Op::start && seen++ == nth) return t;
  FAIL("no started timer");
  return {};
}

// The ring timer of the offer in `out`: the first timer started after its RingLeg.
inline TimerAction ringTimer(const Outputs& out) {
  bool rung = false;
  for (const auto& a : out.actions) {
    if (std::holds_alternative<RingLeg>(a)) rung = true;
    const auto* t = std::get_if<TimerAction>(&a);
    if (rung && t && t->op == TimerAction::Op::start) return *t;
  }
  FAIL("no ring timer");
  return {};
}

// The last timer `out` started (a dispatch retry is started last).
inline TimerAction lastStartedTimer(const Outputs& out) {
  std::optional<TimerAction> last;
  for (const auto& t : out.timers())
    if (t.op == TimerAction::Op::start) last = t;
  REQUIRE(last.has_value());
  return *last;
}

// The session `sessionId` as Gateway.listSessions shows it (null when absent).
inline json sessionRow(Fixture& f, const std::string& sessionId) {
  const json all = f.gw.listSessions();
  for (const auto& s : all["sessions"])
    if (s["sessionId"] == sessionId) return s;
  return {};
}

inline std::string endState(Fixture& f, const std::string& sessionId) {
  const json s = sessionRow(f, sessionId);
  return s.is_object() && s["endState"].is_string() ? s["endState"].get<std::string>() : "";
}

inline Directory anchoredDirectory() {
  Directory d = callDirectory();
  d.mediaAnchored = true;
  return d;
}

inline const std::string kSue = "sue@example.com";

// `d` with sue, a supervisor of sales at her desk phone 1003.
inline Directory withSupervisor(Directory d) {
  sb::config::Agent sue = agentOf(kSue, "1003", 1);
  sue.skillGroups.clear();
  sue.supervisor = true;
  sue.supervises = {"sales"};
  d.agents.push_back(sue);
  sb::config::Extension e;
  e.id = "1003";
  d.extensions.push_back(e);
  return d;
}

// A customer's call answered by alice at her desk phone (1001); the
// (extension, userId) pairs of `alsoOnline` registered and online before it
// comes in, so it is alice's all the same (priority 1). `decodable`: her
// phone answered in G.711 (LegAnswered::decodable).
struct AnsweredCall : Fixture {
  LegId customer = 0, alice = 0;
  std::string sid;
  Outputs answer;  // what core did on alice's answer
  explicit AnsweredCall(Directory d = anchoredDirectory(),
                        const std::vector<std::pair<std::string, std::string>>& alsoOnline = {}, bool decodable = true)
      : Fixture(std::move(d)) {
    registerPhone("1001");
    for (const auto& [extension, userId] : alsoOnline) registerPhone(extension);
    online(kAlice);
    for (const auto& [extension, userId] : alsoOnline) online(userId);
    InboundDecision in = call();
    customer = in.leg;
    alice = in.outputs.only<RingLeg>()[0].leg;
    sid = in.outputs.events().back().data["sessionId"];
    answer = fact(LegAnswered{alice, decodable});
  }
  json session() { return sessionRow(*this, sid); }
};


}  // namespace sb::core::test::calls
