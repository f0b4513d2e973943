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
                    int64_t expiresAtMs = 1'700'000'600'000, const std::string& userAgent = "TestPhone/1.0") {
  return ContactInfo{uri, source, userAgent, expiresAtMs, true};
}

ExtensionRegistered registered(const std::string& ext, std::vector<ContactInfo> contacts) {
  return ExtensionRegistered{ext, std::move(contacts)};
}

std::vector<std::string> names(const Outputs& out) {
  std::vector<std::string> v;
  for (const auto& e : out.events()) v.push_back(e.name);
  return v;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("core extension: every configured line starts offline and unregistered") {
  CountingRandom random;
  Gateway gw(testDirectory(), random, TimePoint{});
  const json rows = gw.listExtensions()["extensions"];
  REQUIRE(rows.size() == 3);
  // No `contacts`: the daemon adds them from the registrar, which owns them.
  CHECK(rows[0] == json{{"extensionId", "1001"},
                        {"name", "Desk 1001"},
                        {"userId", "alice@example.com"},
                        {"registered", false},
                        {"reachable", false},
                        {"deviceState", "offline"}});
  CHECK(rows[2]["userId"].is_null());  // 1003 is bound to no agent
  CHECK(gw.counts().registeredExtensions == 0);
  CHECK(gw.counts().extensions == 3);
}

TEST_CASE("core extension: registrar facts to events and device state") {
  const std::string uri = "sip:1001@192.0.2.10:5062";
  const DeviceFact reg = registered("1001", {contact(uri)});
  const DeviceFact refresh = registered("1001", {contact(uri, "udp:192.0.2.10:5062", 1'700'000'900'000)});
  const DeviceFact moved = registered("1001", {contact(uri, "udp:198.51.100.7:40000")});
  const DeviceFact newUri = registered("1001", {contact("sip:1001@192.0.2.10:5070")});
  const DeviceFact swapped = registered("1001", {contact(uri, "udp:192.0.2.10:5062", 1'700'000'600'000, "Other/2.0")});
  const DeviceFact second = registered("1001", {contact(uri), contact("sip:1001@192.0.2.11:5060")});
  const DeviceFact secondRefreshed =
      registered("1001", {contact(uri, "udp:192.0.2.10:5062", 1'700'000'900'000), contact("sip:1001@192.0.2.11:5060")});
  const DeviceFact unreg = ExtensionUnregistered{"1001", "expired"};
  const DeviceFact lost = ExtensionReachability{"1001", uri, false, false};
  const DeviceFact back = ExtensionReachability{"1001", uri, true, true};
  const DeviceFact lostOneOfTwo = ExtensionReachability{"1001", uri, false, true};
  const DeviceFact emptyReg = registered("1001", {});

  const struct {
    const char* what;
    std::vector<DeviceFact> before;
    DeviceFact fact;
    Names events;
    const char* deviceState;
    bool reachable;
    int contactCount;  // in the line's state and in every event the fact caused
  } rows[] = {
      {"first REGISTER", {}, reg, {"extensionRegistered"}, "idle", true, 1},
      {"refresh is silent", {reg}, refresh, {}, "idle", true, 1},
      {"refresh of two is silent", {second}, secondRefreshed, {}, "idle", true, 2},
      {"NAT source moved", {reg}, moved, {"extensionRegistered"}, "idle", true, 1},
      {"contact URI moved", {reg}, newUri, {"extensionRegistered"}, "idle", true, 1},
      {"phone swapped (User-Agent)", {reg}, swapped, {"extensionRegistered"}, "idle", true, 1},
      {"moved back", {reg, moved}, reg, {"extensionRegistered"}, "idle", true, 1},
      {"refresh after a move is silent", {reg, moved}, moved, {}, "idle", true, 1},
      {"second binding", {reg}, second, {"extensionRegistered"}, "idle", true, 2},
      {"one of two gone", {second}, reg, {"extensionRegistered"}, "idle", true, 1},
      {"last binding gone", {reg}, unreg, {"extensionUnregistered"}, "offline", false, 0},
      {"registers again after going", {reg, unreg}, reg, {"extensionRegistered"}, "idle", true, 1},
      {"unregister when not registered", {}, unreg, {}, "offline", false, 0},
      {"keepalives missed", {reg}, lost, {"extensionUnreachable"}, "idle", false, 1},
      {"missed twice: once", {reg, lost}, lost, {}, "idle", false, 1},
      {"answers again", {reg, lost}, back, {"extensionReachable"}, "idle", true, 1},
      {"one of two lost", {second}, lostOneOfTwo, {}, "idle", true, 2},
      {"reachability when unregistered", {}, lost, {}, "offline", false, 0},
      {"re-REGISTER while unreachable", {reg, lost}, reg, {"extensionReachable"}, "idle", true, 1},
      {"REGISTER without contacts", {reg}, emptyReg, {"extensionUnregistered"}, "offline", false, 0},
      {"unregistered while unreachable", {reg, lost}, unreg, {"extensionUnregistered"}, "offline", false, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.what));
    FakeClock clock;
    CountingRandom random;
    Gateway gw(testDirectory(), random, TimePoint{});
    for (const auto& f : r.before) gw.onFact(f, clock.now());
    const Outputs out = gw.onFact(r.fact, clock.now());
    CHECK(names(out) == r.events);
    CHECK(out.timers().empty());
    for (const auto& e : out.events()) CHECK(e.data["contactCount"] == r.contactCount);
    const ExtensionState* ext = gw.extensions().find("1001");
    REQUIRE(ext != nullptr);
    CHECK(str(toString(ext->deviceState())) == std::string(r.deviceState));
    CHECK(ext->reachable == r.reachable);
    CHECK(ext->contactCount == r.contactCount);
  }
}

TEST_CASE("core extension: the bindings fingerprint sees URI, source and User-Agent, not expiry") {
  const std::vector<ContactInfo> base = {contact("sip:1001@192.0.2.10:5062")};
  ContactInfo unreachable = base[0];
  unreachable.reachable = false;
  const struct {
    const char* what;
    std::vector<ContactInfo> other;
    bool same;
  } rows[] = {
      {"identical", base, true},
      {"later expiry", {contact("sip:1001@192.0.2.10:5062", "udp:192.0.2.10:5062", 1'700'000'900'000)}, true},
      {"unreachable", {unreachable}, true},
      {"other URI", {contact("sip:1001@192.0.2.10:5063")}, false},
      {"other source", {contact("sip:1001@192.0.2.10:5062", "udp:192.0.2.10:5063")}, false},
      {"other User-Agent",
       {contact("sip:1001@192.0.2.10:5062", "udp:192.0.2.10:5062", 1'700'000'600'000, "TestPhone/1.1")},
       false},
      // A character moving across a field boundary is another binding.
      {"boundary shifted",
       {ContactInfo{"sip:1001@192.0.2.10:506", "2udp:192.0.2.10:5062", "TestPhone/1.0", 1'700'000'600'000, true}},
       false},
      {"none", {}, false},
      {"one more", {base[0], contact("sip:1001@192.0.2.11:5060")}, false},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.what));
    CHECK((bindingsFingerprint(base) == bindingsFingerprint(r.other)) == r.same);
  }
}

TEST_CASE("core extension: event payloads name the line, its agent and its contact count") {
  FakeClock clock;
  CountingRandom random;
  Gateway gw(testDirectory(), random, TimePoint{});
  Outputs out = gw.onFact(registered("1001", {contact("sip:1001@192.0.2.10:5062")}), clock.now());
  REQUIRE(out.events().size() == 1);
  const Event e = out.events()[0];
  CHECK(e.userId == "alice@example.com");  // the bound agent's subscribers see it
  // Lean: no contacts (Gateway.listExtensions has them), so the held history stays small.
  CHECK(e.data == json{{"extensionId", "1001"},
                       {"userId", "alice@example.com"},
                       {"registered", true},
                       {"reachable", true},
                       {"deviceState", "idle"},
                       {"contactCount", 1}});

  out = gw.onFact(ExtensionReachability{"1001", "sip:1001@192.0.2.10:5062", false, false}, clock.now());
  CHECK(out.events().at(0).data == json{{"extensionId", "1001"},
                                      {"userId", "alice@example.com"},
                                      {"registered", true},
                                      {"reachable", false},
                                      {"deviceState", "idle"},
                                      {"contactCount", 1}});

  out = gw.onFact(ExtensionUnregistered{"1001", "unregistered"}, clock.now());
  CHECK(out.events().at(0).data == json{{"extensionId", "1001"},
                                      {"userId", "alice@example.com"},
                                      {"registered", false},
                                      {"reachable", false},
                                      {"deviceState", "offline"},
                                      {"contactCount", 0},
                                      {"reason", "unregistered"}});

  // An unbound line: a pure gateway event, no userId anywhere.
  out = gw.onFact(registered("1003", {contact("sip:1003@192.0.2.30")}), clock.now());
  CHECK_FALSE(out.events().at(0).userId.has_value());
  CHECK_FALSE(out.events().at(0).data.contains("userId"));
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
