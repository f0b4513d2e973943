// A call whose codec seatbridge relays but does not decode (G.722, Opus...:
// LegAnswered::decodable false): what needs decoding is refused with
// codecNotDecodable or falls back to what works without (docs/CORE.md, "Codecs").
#include <doctest/doctest.h>

#include "calls_fixture.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

Directory codecDirectory(sb::config::Recording::Mode mode = sb::config::Recording::Mode::onDemand) {
  Directory d = withSupervisor(anchoredDirectory());
  d.recording.mode = mode;
  d.recording.path = "/var/spool/seatbridge";
  d.skillGroups[0].holdMusic = "/srv/music/sales.wav";
  return d;
}

struct G722Call : AnsweredCall {
  explicit G722Call(Directory d = codecDirectory()) : AnsweredCall(std::move(d), {{"1003", kSue}}, false) {}
};

}  // namespace

TEST_CASE("core codec: monitor, takeover and startRecording refused with codecNotDecodable") {
  G722Call f;
  Outcome o = f.gw.callMonitor(kSue, f.sid, false, "listen", f.clock.now());
  REQUIRE(o.result.error);
  CHECK(o.result.error->code == errc::codecNotDecodable);
  CHECK(o.outputs.empty());
  o = f.gw.callTakeover(kSue, f.sid, f.clock.now());
  REQUIRE(o.result.error);
  CHECK(o.result.error->code == errc::codecNotDecodable);
  o = f.gw.callRecording(kAlice, f.sid, RecordLeg::Op::start);
  REQUIRE(o.result.error);
  CHECK(o.result.error->code == errc::codecNotDecodable);
  CHECK(o.outputs.only<RecordLeg>().empty());
  // The same call in G.711 is supervised and recorded.
  AnsweredCall g711(codecDirectory(), {{"1003", kSue}});
  CHECK(g711.gw.callMonitor(kSue, g711.sid, false, "listen", g711.clock.now()).result.ok());
  CHECK(g711.gw.callRecording(kAlice, g711.sid, RecordLeg::Op::start).result.ok());
}

TEST_CASE("core codec: recording.mode always says recordingFailed at the answer instead of recording nothing") {
  G722Call f(codecDirectory(sb::config::Recording::Mode::always));
  CHECK(f.answer.only<RecordLeg>().empty());
  bool failed = false;
  for (const Event& e : f.answer.events())
    if (e.name == "recordingFailed") {
      failed = true;
      CHECK(e.userId == kAlice);
      CHECK(e.data["reason"] == "codecNotDecodable");
      CHECK(e.data["sessionId"] == f.sid);
    }
  CHECK(failed);
  CHECK_FALSE(f.session().contains("recording"));
}

TEST_CASE("core codec: hold falls back to sendonly on both legs; the phone's own hold is relayed") {
  G722Call f;
  CHECK(f.answer.only<BridgeLegs>()[0].ownHold == 0);  // the SIP layer relays the phone's holds
  Outcome o = f.gw.callHold(kAlice, f.sid, true, f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.outputs.only<PlayToLeg>().empty());  // no music we could encode
  CHECK(o.outputs.only<HoldLeg>().size() == 2);  // the customer's leg sendonly too: its PBX plays its own
  REQUIRE(f.gw.callHold(kAlice, f.sid, false, f.clock.now()).result.ok());
  Outputs out = f.fact(LegHeld{f.alice, true});  // the phone's hold key, relayed to the customer
  CHECK(out.only<PlayToLeg>().empty());
  CHECK(names(out) == std::vector<std::string>{"hold:" + kAlice});
}

TEST_CASE("core codec: a re-INVITE's answer that names a codec anew (LegCodec) decides what may decode") {
  AnsweredCall f(codecDirectory(), {{"1003", kSue}});
  // The customer's PBX moved the call to G.722 in a relayed re-INVITE.
  CHECK(f.fact(LegCodec{f.alice, false}).empty());
  Outcome o = f.gw.callRecording(kAlice, f.sid, RecordLeg::Op::start);
  REQUIRE(o.result.error);
  CHECK(o.result.error->code == errc::codecNotDecodable);
  // ... and back to PCMU: recorded again.
  CHECK(f.fact(LegCodec{f.customer, true}).empty());
  CHECK(f.gw.callRecording(kAlice, f.sid, RecordLeg::Op::start).result.ok());
}
