// Desk-phone device state from the registrar's facts: a table of fact sequences
// and the events and state each leaves behind.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/gateway.hpp"
#include "fakes.hpp"

using namespace sb::core;
using sb::core::test::CountingRandom;
using sb::core::test::FakeClock;
using sb::core::test::str;
using sb::core::test::testDirectory;
using nlohmann::json;

namespace {

ContactInfo contact(const std::string& uri, const std::string& source = "udp:192.0.2.10:5062",
                    int64_t expiresAtMs = 1'700'000'600'000) {
  return ContactInfo{uri, source, "TestPhone/1.0", expiresAtMs, true};
}

ExtensionRegistered registered(const std::string& ext, std::vector<ContactInfo> contacts) {
  return ExtensionRegistered{ext, std::move(contacts)};
}

std::vector<std::string> names(const Outputs& out) {
  std::vector<std::string> v;
  for (const auto& e : out.events) v.push_back(e.name);
  return v;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("core extension: every configured line starts offline and unregistered") {
  CountingRandom random;
  Gateway gw(testDirectory(), random, TimePoint{});
  const json rows = gw.listExtensions()["extensions"];
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == json{{"extensionId", "1001"},
                        {"name", "Desk 1001"},
                        {"userId", "alice@example.com"},
                        {"registered", false},
                        {"reachable", false},
                        {"deviceState", "offline"},
                        {"contacts", json::array()}});
  CHECK(rows[2]["userId"].is_null());  // 1003 is bound to no agent
  CHECK(gw.counts().registeredExtensions == 0);
  CHECK(gw.counts().extensions == 3);
}

TEST_CASE("core extension: registrar facts to events and device state") {
  const DeviceFact reg = registered("1001", {contact("sip:1001@192.0.2.10:5062")});
  const DeviceFact refresh = registered("1001", {contact("sip:1001@192.0.2.10:5062", "udp:192.0.2.10:5062", 1'700'000'900'000)});
  const DeviceFact moved = registered("1001", {contact("sip:1001@192.0.2.10:5062", "udp:198.51.100.7:40000")});
  const DeviceFact second = registered("1001", {contact("sip:1001@192.0.2.10:5062"), contact("sip:1001@192.0.2.11:5060")});
  const DeviceFact unreg = ExtensionUnregistered{"1001", "expired"};
  const DeviceFact lost = ExtensionReachability{"1001", "sip:1001@192.0.2.10:5062", false, false};
  const DeviceFact back = ExtensionReachability{"1001", "sip:1001@192.0.2.10:5062", true, true};
  const DeviceFact lostOneOfTwo = ExtensionReachability{"1001", "sip:1001@192.0.2.10:5062", false, true};
  const DeviceFact emptyReg = registered("1001", {});

  const struct {
    const char* what;
    std::vector<DeviceFact> before;
    DeviceFact fact;
    Names events;
    const char* deviceState;
    bool reachable;
  } rows[] = {
      {"first REGISTER", {}, reg, {"extensionRegistered"}, "idle", true},
      {"refresh is silent", {reg}, refresh, {}, "idle", true},
      {"NAT source moved", {reg}, moved, {"extensionRegistered"}, "idle", true},
      {"second binding", {reg}, second, {"extensionRegistered"}, "idle", true},
      {"last binding gone", {reg}, unreg, {"extensionUnregistered"}, "offline", false},
      {"unregister when not registered", {}, unreg, {}, "offline", false},
      {"keepalives missed", {reg}, lost, {"extensionUnreachable"}, "idle", false},
      {"missed twice: once", {reg, lost}, lost, {}, "idle", false},
      {"answers again", {reg, lost}, back, {"extensionReachable"}, "idle", true},
      {"one of two lost", {second}, lostOneOfTwo, {}, "idle", true},
      {"reachability when unregistered", {}, lost, {}, "offline", false},
      {"re-REGISTER while unreachable", {reg, lost}, reg, {"extensionReachable"}, "idle", true},
      {"REGISTER without contacts", {reg}, emptyReg, {"extensionUnregistered"}, "offline", false},
      {"unregistered while unreachable", {reg, lost}, unreg, {"extensionUnregistered"}, "offline", false},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.what));
    FakeClock clock;
    CountingRandom random;
    Gateway gw(testDirectory(), random, TimePoint{});
    for (const auto& f : r.before) gw.onFact(f, clock.now());
    const Outputs out = gw.onFact(r.fact, clock.now());
    CHECK(names(out) == r.events);
    CHECK(out.timers.empty());
    const ExtensionState* ext = gw.extensions().find("1001");
    REQUIRE(ext != nullptr);
    CHECK(str(toString(ext->deviceState())) == std::string(r.deviceState));
    CHECK(ext->reachable == r.reachable);
  }
}

TEST_CASE("core extension: event payloads name the line, its agent and its contacts") {
  FakeClock clock;
  CountingRandom random;
  Gateway gw(testDirectory(), random, TimePoint{});
  Outputs out = gw.onFact(registered("1001", {contact("sip:1001@192.0.2.10:5062")}), clock.now());
  REQUIRE(out.events.size() == 1);
  const Event& e = out.events[0];
  CHECK(e.userId == "alice@example.com");  // the bound agent's subscribers see it
  CHECK(e.data["extensionId"] == "1001");
  CHECK(e.data["userId"] == "alice@example.com");
  CHECK(e.data["deviceState"] == "idle");
  CHECK(e.data["contacts"] == json::array({{{"uri", "sip:1001@192.0.2.10:5062"},
                                            {"source", "udp:192.0.2.10:5062"},
                                            {"userAgent", "TestPhone/1.0"},
                                            {"expiresAt", 1'700'000'600'000},
                                            {"reachable", true}}}));

  out = gw.onFact(ExtensionUnregistered{"1001", "unregistered"}, clock.now());
  CHECK(out.events.at(0).data["reason"] == "unregistered");
  CHECK(out.events.at(0).data["contacts"] == json::array());

  // An unbound line: a pure gateway event, no userId anywhere.
  out = gw.onFact(registered("1003", {contact("sip:1003@192.0.2.30")}), clock.now());
  CHECK_FALSE(out.events.at(0).userId.has_value());
  CHECK_FALSE(out.events.at(0).data.contains("userId"));
}

TEST_CASE("core extension: facts for unknown lines are ignored") {
  FakeClock clock;
  CountingRandom random;
  Gateway gw(testDirectory(), random, TimePoint{});
  CHECK(gw.onFact(registered("9999", {contact("sip:9999@192.0.2.99")}), clock.now()).empty());
  CHECK(gw.extensions().find("9999") == nullptr);
}

TEST_CASE("core extension: device state idle / busy / offline") {
  const struct {
    bool registered;
    int calls;
    const char* state;
  } rows[] = {{false, 0, "offline"}, {true, 0, "idle"}, {true, 1, "busy"}, {true, 2, "busy"}, {false, 1, "offline"}};
  for (const auto& r : rows) {
    CAPTURE(r.calls);
    CountingRandom random;
    Gateway gw(testDirectory(), random, TimePoint{});
    if (r.registered) gw.onFact(registered("1002", {contact("sip:1002@192.0.2.20")}), TimePoint{});
    for (int i = 0; i < r.calls; ++i) gw.extensions().callStarted("1002");
    CHECK(str(toString(gw.extensions().find("1002")->deviceState())) == std::string(r.state));
    for (int i = 0; i < r.calls + 1; ++i) gw.extensions().callEnded("1002");  // never below zero
    CHECK(gw.extensions().find("1002")->callCount == 0);
  }
}

TEST_CASE("core extension: a phone going away does not sign its agent out") {
  FakeClock clock;
  CountingRandom random;
  Gateway gw(testDirectory(), random, TimePoint{});
  gw.agentOnline("alice@example.com", clock.now());
  gw.onFact(registered("1001", {contact("sip:1001@192.0.2.10")}), clock.now());
  const Outputs out = gw.onFact(ExtensionUnregistered{"1001", "expired"}, clock.now());
  CHECK(names(out) == Names{"extensionUnregistered"});
  CHECK(gw.findAgent("alice@example.com")->status() == AgentStatus::free);
  CHECK(gw.counts().registeredExtensions == 0);
}
