// The agent's phone holding the call itself (its hold key) with anchored
// media: the SIP layer answers the phone's re-INVITE (BridgeLegs::ownHold
// says which leg) and core plays the skill group's holdMusic to the customer,
// whose leg is not re-INVITEd (docs/CORE.md, "Hold").
#include <doctest/doctest.h>

#include "calls_fixture.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

Directory withMusic(bool anchored) {
  Directory d = callDirectory();
  d.mediaAnchored = anchored;
  d.skillGroups[0].holdMusic = "/srv/music/sales.wav";
  return d;
}

}  // namespace

TEST_CASE("core phone hold, anchored: the agent's leg is the one whose holds are answered here") {
  AnsweredCall f(withMusic(true));
  REQUIRE(f.answer.only<BridgeLegs>().size() == 1);
  const BridgeLegs b = f.answer.only<BridgeLegs>()[0];
  CHECK((b.a == f.customer && b.b == f.alice && b.ownHold == f.alice));
}

TEST_CASE("core phone hold, bypass: nothing is answered here, the hold is relayed as before") {
  AnsweredCall f(withMusic(false));
  CHECK(f.answer.only<BridgeLegs>()[0].ownHold == 0);
  Outputs out = f.fact(LegHeld{f.alice, true});
  CHECK(out.only<PlayToLeg>().empty());
  CHECK(names(out) == std::vector<std::string>{"hold:" + kAlice});
}

TEST_CASE("core phone hold, anchored: the hold key plays the group's music to the customer, resume stops it") {
  AnsweredCall f(withMusic(true));
  Outputs out = f.fact(LegHeld{f.alice, true});
  REQUIRE(out.only<PlayToLeg>().size() == 1);
  const PlayToLeg play = out.only<PlayToLeg>()[0];
  CHECK((play.leg == f.customer && play.play && play.file == "/srv/music/sales.wav"));
  CHECK(out.only<HoldLeg>().empty());  // the customer's leg stays sendrecv: no re-INVITE to it
  CHECK(names(out) == std::vector<std::string>{"hold:" + kAlice});
  CHECK(f.session()["state"] == "held");
  CHECK(f.fact(LegHeld{f.alice, true}).empty());  // a second offer while held changes nothing

  out = f.fact(LegHeld{f.alice, false});
  REQUIRE(out.only<PlayToLeg>().size() == 1);
  CHECK((out.only<PlayToLeg>()[0].leg == f.customer && !out.only<PlayToLeg>()[0].play));
  CHECK(out.only<HoldLeg>().empty());
  CHECK(names(out) == std::vector<std::string>{"unHold:" + kAlice});
  CHECK(f.session()["state"] != "held");
}

TEST_CASE("core phone hold, anchored: held by Call.hold already, the phone's own hold starts no second music") {
  AnsweredCall f(withMusic(true));
  REQUIRE(f.gw.callHold(kAlice, f.sid, true, f.clock.now()).result.ok());
  CHECK(f.fact(LegHeld{f.alice, true}).empty());
}

TEST_CASE("core phone hold, anchored: the customer's own hold is relayed and plays nothing of ours") {
  AnsweredCall f(withMusic(true));
  Outputs out = f.fact(LegHeld{f.customer, true});
  CHECK(out.only<PlayToLeg>().empty());
  CHECK(names(out) == std::vector<std::string>{"hold:" + kAlice});
}
