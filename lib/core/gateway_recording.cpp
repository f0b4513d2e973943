// Recording (docs/CORE.md, "Recording"): a session's audio into a WAV, with
// recording.mode always (from the agent's answer), onDemand (the methods) or
// never; Call.startRecording / pauseRecording / resumeRecording /
// stopRecording, the events of each change, and the file's path in the
// session's record (spec/interface.md: `recording`). The recording is the
// customer's leg's, so it follows the customer through every transfer.
#include "core/gateway.hpp"

namespace sb::core {
namespace {

using Op = RecordLeg::Op;

std::string_view eventFor(Op op) {
  switch (op) {
    case Op::start: return event::recordingStarted;
    case Op::pause: return event::recordingPaused;
    case Op::resume: return event::recordingResumed;
    case Op::stop: break;
  }
  return event::recordingStopped;
}

}  // namespace

Outcome Gateway::callRecording(const std::string& userId, const std::string& sessionId, Op op) {
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = *found;
  const config::Recording::Mode mode = directory_.recording.mode;
  if (mode == config::Recording::Mode::never)
    return Outcome::failure(errc::recordingDisabled, "recording.mode is never: seatbridge records no call");
  if (!directory_.mediaAnchored)
    return Outcome::failure(errc::mediaNotAnchored, "recording needs the call's audio relayed by seatbridge");
  if (call.phase != Call::Phase::bridged)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is not answered");
  if (op == Op::start && call.undecodable)
    return Outcome::failure(errc::codecNotDecodable,
                            "session " + sessionId + "'s codec is not PCMU or PCMA: seatbridge relays it but cannot decode it to record");
  using R = Call::Recording;
  const char* refusal = nullptr;
  switch (op) {
    case Op::start: refusal = call.recording != R::off ? "is already being recorded" : nullptr; break;
    case Op::pause: refusal = call.recording != R::on ? "is not being recorded, or is paused already" : nullptr; break;
    case Op::resume: refusal = call.recording != R::paused ? "has no paused recording" : nullptr; break;
    case Op::stop:
      if (call.recording == R::off)
        refusal = "is not being recorded";
      else if (mode == config::Recording::Mode::always)
        refusal = "is recorded whole (recording.mode always); Call.pauseRecording leaves a passage out";
      break;
  }
  if (refusal) return Outcome::failure(errc::invalidTransition, "session " + sessionId + " " + refusal);
  Outcome o = Outcome::success({{"sessionId", sessionId}});
  setRecording(call, op, o.outputs);
  if (const Session* s = sessions_.find(sessionId)) o.result.data["recording"] = s->recording;
  return o;
}

void Gateway::setRecording(Call& call, Op op, Outputs& out) {
  Session* s = sessions_.find(call.sessionId);
  if (!s) return;
  // One file per session: started again after a stop, it goes on in the same file.
  if (s->recording.empty()) s->recording = directory_.recording.path + "/" + call.sessionId + ".wav";
  out.push(RecordLeg{call.customerLeg, op, s->recording, directory_.recording.stereo});
  call.recording = op == Op::stop ? Call::Recording::off : op == Op::pause ? Call::Recording::paused : Call::Recording::on;
  const nlohmann::json data{{"sessionId", call.sessionId}, {"recording", s->recording}};
  out.push(sessionEvent(eventFor(op), call.agentUserId, data));
  if (!call.peerUserId.empty()) out.push(sessionEvent(eventFor(op), call.peerUserId, data));
}

void Gateway::recordOnAnswer(Call& call, Outputs& out) {
  if (directory_.recording.mode != config::Recording::Mode::always || !directory_.mediaAnchored ||
      call.recording != Call::Recording::off)
    return;
  if (!call.undecodable) {
    setRecording(call, Op::start, out);
    return;
  }
  // Every call is to be recorded and this one cannot be: said, never silently skipped.
  const nlohmann::json data{{"sessionId", call.sessionId}, {"reason", "codecNotDecodable"}};
  out.push(sessionEvent(event::recordingFailed, call.agentUserId, data));
  if (!call.peerUserId.empty()) out.push(sessionEvent(event::recordingFailed, call.peerUserId, data));
}

void Gateway::recordingFailed(Call& call, const std::string& reason, Outputs& out) {
  if (call.recording == Call::Recording::off) return;
  call.recording = Call::Recording::off;
  const Session* s = sessions_.find(call.sessionId);
  const nlohmann::json data{
      {"sessionId", call.sessionId}, {"recording", s ? s->recording : std::string()}, {"reason", reason}};
  out.push(sessionEvent(event::recordingFailed, call.agentUserId, data));
  if (!call.peerUserId.empty()) out.push(sessionEvent(event::recordingFailed, call.peerUserId, data));
}

}  // namespace sb::core
