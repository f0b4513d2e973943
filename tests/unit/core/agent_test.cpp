// Every transition of one agent's status machine, as tables: start state x input ->
// status, pending status, error and timer effects. Time comes from a fake clock.
#include <doctest/doctest.h>

#include <string>

#include "core/agent.hpp"
#include "fakes.hpp"

using namespace sb::core;
using sb::core::test::FakeClock;
using sb::core::test::str;

namespace {

const Duration kWrapUp = std::chrono::seconds(10);

// Brings a fresh agent into a named start state through the public inputs only.
Agent agentIn(const std::string& from, FakeClock& clock) {
  Agent a("alice", clock.now());
  const TimePoint t = clock.now();
  if (from == "offline") return a;
  a.online(t);
  if (from == "free") return a;
  if (from == "notReady") a.setStatus(RequestedStatus::notReady, "", t);
  if (from == "rest") a.setStatus(RequestedStatus::rest, "Meal", t);
  if (from == "arrange") a.setStatus(RequestedStatus::arrange, "", t);
  if (from.rfind("busy", 0) == 0 || from.rfind("wrapUp", 0) == 0) {
    if (from == "busy+notReady(carried)") a.setStatus(RequestedStatus::notReady, "", t);
    a.seize("s1", t);
    if (from.find("+offline") != std::string::npos) a.offline(t);
    if (from.find("+rest") != std::string::npos) a.setStatus(RequestedStatus::rest, "Lunch", t);
    if (from.find("+arrange") != std::string::npos) a.setStatus(RequestedStatus::arrange, "", t);
    if (from.find("+notReady") != std::string::npos && from != "busy+notReady(carried)")
      a.setStatus(RequestedStatus::notReady, "", t);
    if (from.rfind("wrapUp", 0) == 0) a.release("s1", kWrapUp, t);
  }
  return a;
}

enum class Input { online, offline, setFree, setRest, setArrange, setNotReady, stopNotReady, seize, seizeOther,
                   release, releaseNoWrapUp, releaseUnknown, wrapUpDone };

Agent::Effects apply(Agent& a, Input in, TimePoint t) {
  switch (in) {
    case Input::online: return a.online(t);
    case Input::offline: return a.offline(t);
    case Input::setFree: return a.setStatus(RequestedStatus::free, "", t);
    case Input::setRest: return a.setStatus(RequestedStatus::rest, "Training", t);
    case Input::setArrange: return a.setStatus(RequestedStatus::arrange, "", t);
    case Input::setNotReady: return a.setStatus(RequestedStatus::notReady, "", t);
    case Input::stopNotReady: return a.setStatus(RequestedStatus::stopNotReady, "", t);
    case Input::seize: return a.seize("s1", t);
    case Input::seizeOther: return a.seize("s2", t);
    case Input::release: return a.release("s1", kWrapUp, t);
    case Input::releaseNoWrapUp: return a.release("s1", Duration::zero(), t);
    case Input::releaseUnknown: return a.release("nope", kWrapUp, t);
    case Input::wrapUpDone: return a.wrapUpDone(t);
  }
  return {};
}

struct Row {
  const char* from;
  Input input;
  const char* status;      // after
  const char* restReason;  // after
  const char* pending;     // "" = none
  const char* error;       // "" = success
  bool changed;
  bool startWrapUp = false;
  bool cancelWrapUp = false;
};

void runTable(const Row* rows, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const Row& r = rows[i];
    CAPTURE(i);
    const std::string from = r.from;  // CAPTURE prints strings, not pointers
    CAPTURE(from);
    FakeClock clock;
    Agent a = agentIn(r.from, clock);
    clock.advance(std::chrono::seconds(1));
    const Agent::Effects fx = apply(a, r.input, clock.now());
    CHECK(str(toString(a.status())) == std::string(r.status));
    CHECK(a.current().restReason == std::string(r.restReason));
    CHECK(std::string(a.pending() ? toString(a.pending()->status) : "") == std::string(r.pending));
    CHECK((fx.error ? fx.error->code : std::string()) == std::string(r.error));
    CHECK(fx.statusChanged == r.changed);
    CHECK(fx.startWrapUp == r.startWrapUp);
    CHECK(fx.cancelWrapUp == r.cancelWrapUp);
    if (fx.statusChanged) CHECK(a.statusSince() == clock.now());
  }
}

}  // namespace

TEST_CASE("core agent: sign in and out") {
  const Row rows[] = {
      {"offline", Input::online, "free", "", "", "", true},
      {"free", Input::online, "free", "", "", "", false},  // idempotent
      {"rest", Input::online, "rest", "Meal", "", "", false},
      {"offline", Input::offline, "offline", "", "", "", false},  // idempotent
      {"free", Input::offline, "offline", "", "", "", true},
      {"notReady", Input::offline, "offline", "", "", "", true},
      {"rest", Input::offline, "offline", "", "", "", true},
      {"arrange", Input::offline, "offline", "", "", "", true},
      {"wrapUp", Input::offline, "offline", "", "", "", true, false, true},
      // Offline during a call waits for the call: never cut the customer off.
      {"busy", Input::offline, "busy", "", "offline", "", false},
      {"busy+rest", Input::offline, "busy", "", "offline", "", false},
      // Signing in again withdraws the waiting sign-out.
      {"busy+offline", Input::online, "busy", "", "", "", false},
      {"busy+rest", Input::online, "busy", "", "rest", "", false},
  };
  runTable(rows, std::size(rows));
}

TEST_CASE("core agent: setStatus outside calls applies at once") {
  const Row rows[] = {
      {"free", Input::setRest, "rest", "Training", "", "", true},
      {"free", Input::setArrange, "arrange", "", "", "", true},
      {"free", Input::setNotReady, "notReady", "", "", "", true},
      {"free", Input::setFree, "free", "", "", "", false},
      {"rest", Input::setFree, "free", "", "", "", true},
      {"rest", Input::setRest, "rest", "Training", "", "", true},  // a new reason is a change
      {"rest", Input::setNotReady, "notReady", "", "", "", true},
      {"notReady", Input::setFree, "free", "", "", "", true},
      {"notReady", Input::setNotReady, "notReady", "", "", "", false},
      {"notReady", Input::setRest, "rest", "Training", "", "", true},
      {"arrange", Input::setFree, "free", "", "", "", true},
      {"arrange", Input::setArrange, "arrange", "", "", "", false},
      // Offline agents must sign in first.
      {"offline", Input::setFree, "offline", "", "", "agentOffline", false},
      {"offline", Input::setRest, "offline", "", "", "agentOffline", false},
      {"offline", Input::stopNotReady, "offline", "", "", "agentOffline", false},
  };
  runTable(rows, std::size(rows));
}

TEST_CASE("core agent: stopNotReady leaves notReady only") {
  const Row rows[] = {
      {"notReady", Input::stopNotReady, "free", "", "", "", true},
      {"free", Input::stopNotReady, "free", "", "", "invalidTransition", false},
      {"rest", Input::stopNotReady, "rest", "Meal", "", "invalidTransition", false},
      {"arrange", Input::stopNotReady, "arrange", "", "", "invalidTransition", false},
      {"wrapUp", Input::stopNotReady, "arrange", "", "", "invalidTransition", false},
      {"busy", Input::stopNotReady, "busy", "", "", "invalidTransition", false},
      // While busy it withdraws a pending notReady (asked for or carried from before).
      {"busy+notReady", Input::stopNotReady, "busy", "", "", "", false},
      {"busy+notReady(carried)", Input::stopNotReady, "busy", "", "", "", false},
      // During wrap-up with notReady waiting: free at once, wrap-up over.
      {"wrapUp+notReady", Input::stopNotReady, "free", "", "", "", true, false, true},
  };
  runTable(rows, std::size(rows));
}

TEST_CASE("core agent: requests during a call wait for its end (last one wins)") {
  const Row rows[] = {
      {"busy", Input::setRest, "busy", "", "rest", "", false},
      {"busy", Input::setNotReady, "busy", "", "notReady", "", false},
      {"busy", Input::setArrange, "busy", "", "arrange", "", false},
      {"busy", Input::setFree, "busy", "", "free", "", false},
      {"busy+rest", Input::setNotReady, "busy", "", "notReady", "", false},
      {"busy+offline", Input::setRest, "busy", "", "rest", "", false},
  };
  runTable(rows, std::size(rows));
}

TEST_CASE("core agent: calls make the agent busy") {
  const Row rows[] = {
      {"free", Input::seize, "busy", "", "", "", true},
      // The standing choice returns after the call.
      {"notReady", Input::seize, "busy", "", "notReady", "", true},
      {"rest", Input::seize, "busy", "", "rest", "", true},
      {"arrange", Input::seize, "busy", "", "arrange", "", true},
      // A call during wrap-up ends the wrap-up; what was pending stays pending.
      {"wrapUp", Input::seize, "busy", "", "", "", true, false, true},
      {"wrapUp+rest", Input::seize, "busy", "", "rest", "", true, false, true},
      // A second session, or the same one again, changes nothing.
      {"busy", Input::seizeOther, "busy", "", "", "", false},
      {"busy", Input::seize, "busy", "", "", "", false},
      {"offline", Input::seize, "offline", "", "", "agentOffline", false},
  };
  runTable(rows, std::size(rows));
}

TEST_CASE("core agent: after the call, wrap-up then the pending status") {
  const Row rows[] = {
      {"busy", Input::release, "arrange", "", "", "", true, true},
      {"busy+rest", Input::release, "arrange", "", "rest", "", true, true},
      {"busy+offline", Input::release, "arrange", "", "offline", "", true, true},
      {"busy", Input::releaseNoWrapUp, "free", "", "", "", true},
      {"busy+rest", Input::releaseNoWrapUp, "rest", "Lunch", "", "", true},
      {"busy+notReady(carried)", Input::releaseNoWrapUp, "notReady", "", "", "", true},
      {"busy+offline", Input::releaseNoWrapUp, "offline", "", "", "", true},
      {"busy", Input::releaseUnknown, "busy", "", "", "sessionNotFound", false},
      {"free", Input::releaseUnknown, "free", "", "", "sessionNotFound", false},
      // Wrap-up over: the pending status, or free.
      {"wrapUp", Input::wrapUpDone, "free", "", "", "", true},
      {"wrapUp+rest", Input::wrapUpDone, "rest", "Lunch", "", "", true},
      {"wrapUp+notReady", Input::wrapUpDone, "notReady", "", "", "", true},
      {"wrapUp+offline", Input::wrapUpDone, "offline", "", "", "", true},
      {"wrapUp+arrange", Input::wrapUpDone, "arrange", "", "", "", false},  // stays, now untimed
      {"free", Input::wrapUpDone, "free", "", "", "", false},               // stale: nothing
  };
  runTable(rows, std::size(rows));
}

TEST_CASE("core agent: requests during wrap-up apply at once and end it") {
  const Row rows[] = {
      {"wrapUp", Input::setFree, "free", "", "", "", true, false, true},
      {"wrapUp", Input::setRest, "rest", "Training", "", "", true, false, true},
      {"wrapUp", Input::setNotReady, "notReady", "", "", "", true, false, true},
      {"wrapUp", Input::setArrange, "arrange", "", "", "", false, false, true},  // more time, untimed
      {"wrapUp+rest", Input::setFree, "free", "", "", "", true, false, true},    // fresh request wins
      {"wrapUp", Input::offline, "offline", "", "", "", true, false, true},
      {"wrapUp+offline", Input::online, "arrange", "", "", "", false},  // withdraws the sign-out
  };
  runTable(rows, std::size(rows));
}

TEST_CASE("core agent: two sessions: busy until the last ends") {
  FakeClock clock;
  Agent a("alice", clock.now());
  a.online(clock.now());
  a.seize("s1", clock.now());
  a.seize("s2", clock.now());
  CHECK(a.sessions().size() == 2);
  Agent::Effects fx = a.release("s1", kWrapUp, clock.now());
  CHECK_FALSE(fx.statusChanged);
  CHECK(a.status() == AgentStatus::busy);
  fx = a.release("s2", kWrapUp, clock.now());
  CHECK(fx.startWrapUp);
  CHECK(a.status() == AgentStatus::arrange);
  CHECK(a.wrapUpDeadline() == clock.now() + kWrapUp);
  CHECK_FALSE(a.offerable());
}
