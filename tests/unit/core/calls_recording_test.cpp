// Recording in core: the methods' state machine, recording.mode always from
// the answer, the record's path, a failure reported, and digits withheld
// while a recording is paused (docs/CORE.md, "Recording").
#include <doctest/doctest.h>

#include "calls_fixture.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

using Op = RecordLeg::Op;

Directory recordingDirectory(sb::config::Recording::Mode mode) {
  Directory d = callDirectory();
  d.mediaAnchored = true;
  d.recording.mode = mode;
  d.recording.path = "/var/spool/seatbridge";
  return d;
}

using Answered = AnsweredCall;

}  // namespace

TEST_CASE("core recording: onDemand start, pause, resume, stop; each an event; the path in the record") {
  Answered f(recordingDirectory(sb::config::Recording::Mode::onDemand));
  CHECK(f.answer.only<RecordLeg>().empty());  // onDemand: nothing until asked
  CHECK_FALSE(f.session().contains("recording"));
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::pause).result.error->code == errc::invalidTransition);
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::stop).result.error->code == errc::invalidTransition);
  Outcome o = f.gw.callRecording(kAlice, f.sid, Op::start);
  REQUIRE(o.result.ok());
  const std::string path = "/var/spool/seatbridge/" + f.sid + ".wav";
  CHECK(o.result.data["recording"] == path);
  REQUIRE(o.outputs.only<RecordLeg>().size() == 1);
  const RecordLeg r = o.outputs.only<RecordLeg>()[0];
  CHECK((r.leg == f.customer && r.op == Op::start && r.path == path && r.stereo));
  CHECK(names(o.outputs) == std::vector<std::string>{"recordingStarted:" + kAlice});
  CHECK(f.session()["recording"] == path);
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::start).result.error->code == errc::invalidTransition);
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::resume).result.error->code == errc::invalidTransition);

  o = f.gw.callRecording(kAlice, f.sid, Op::pause);
  REQUIRE(o.result.ok());
  CHECK(o.outputs.only<RecordLeg>()[0].op == Op::pause);
  CHECK(names(o.outputs) == std::vector<std::string>{"recordingPaused:" + kAlice});
  // Paused: a card number keyed in is reported to nobody.
  CHECK(f.fact(LegDigit{f.customer, '4'}).events().empty());
  CHECK(f.fact(LegDigit{f.alice, '1'}).events().empty());
  o = f.gw.callRecording(kAlice, f.sid, Op::resume);
  CHECK(names(o.outputs) == std::vector<std::string>{"recordingResumed:" + kAlice});
  CHECK(names(f.fact(LegDigit{f.customer, '5'})) == std::vector<std::string>{"dtmf:" + kAlice});

  o = f.gw.callRecording(kAlice, f.sid, Op::stop);
  CHECK(o.outputs.only<RecordLeg>()[0].op == Op::stop);
  CHECK(names(o.outputs) == std::vector<std::string>{"recordingStopped:" + kAlice});
  // Started again: the same file goes on.
  o = f.gw.callRecording(kAlice, f.sid, Op::start);
  CHECK(o.outputs.only<RecordLeg>()[0].path == path);
  CHECK(f.gw.callRecording(kBob, f.sid, Op::stop).result.error->code == errc::sessionNotFound);
  // The call's end stops it.
  Outputs end = f.fact(LegEnded{f.customer});
  REQUIRE(end.only<RecordLeg>().size() == 1);
  CHECK(end.only<RecordLeg>()[0].op == Op::stop);
  CHECK(f.session()["recording"] == path);  // kept in the ended session's record
}

TEST_CASE("core recording: always records from the answer and cannot be stopped, only paused") {
  Directory d = recordingDirectory(sb::config::Recording::Mode::always);
  d.recording.stereo = false;
  Answered f(d);
  REQUIRE(f.answer.only<RecordLeg>().size() == 1);
  const RecordLeg r = f.answer.only<RecordLeg>()[0];
  CHECK((r.leg == f.customer && r.op == Op::start && !r.stereo));
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::stop).result.error->code == errc::invalidTransition);
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::pause).result.ok());
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::resume).result.ok());
}

TEST_CASE("core recording: a failed recording is an event; the call goes on; never and bypass refuse") {
  Answered f(recordingDirectory(sb::config::Recording::Mode::always));
  Outputs o = f.fact(LegRecordingFailed{f.customer, "writing failed: No space left on device"});
  const auto events = o.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].name == "recordingFailed");
  CHECK(events[0].data["reason"] == "writing failed: No space left on device");
  CHECK(o.only<HangUpLeg>().empty());
  CHECK(f.gw.liveCalls() == 1);
  CHECK(f.fact(LegRecordingFailed{f.customer, "again"}).events().empty());  // once
  CHECK(f.gw.callRecording(kAlice, f.sid, Op::start).result.ok());  // it may be tried again

  Answered never(recordingDirectory(sb::config::Recording::Mode::never));
  CHECK(never.gw.callRecording(kAlice, never.sid, Op::start).result.error->code == errc::recordingDisabled);
  Directory bypass = recordingDirectory(sb::config::Recording::Mode::onDemand);
  bypass.mediaAnchored = false;
  Answered b(bypass);
  CHECK(b.gw.callRecording(kAlice, b.sid, Op::start).result.error->code == errc::mediaNotAnchored);
}
