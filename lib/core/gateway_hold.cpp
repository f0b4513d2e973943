// Hold (docs/CORE.md, "Hold"): Call.hold / Call.unHold from the socket, and
// the far ends' own holds, as one session state (active <-> held) and the
// events hold / unHold {sessionId, by} of spec/interface.md.
#include "core/gateway.hpp"

namespace sb::core {

Outcome Gateway::callHold(const std::string& userId, const std::string& sessionId, bool hold, TimePoint now) {
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = *found;
  const Session* s = sessions_.find(sessionId);
  if (call.phase != Call::Phase::bridged || !s)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is not answered");
  if (hold == (s->state == SessionState::held))
    return Outcome::failure(errc::invalidTransition,
                            "session " + sessionId + (hold ? " is already on hold" : " is not on hold"));
  Outcome o = Outcome::success({{"sessionId", sessionId}});
  if (decodes(call)) {
    // seatbridge plays the music itself: the customer's leg stays sendrecv
    // (its PBX would play its own over ours in answer to sendonly) and hears
    // the skill group's holdMusic instead of the agent, whose phone is put on
    // hold as below.
    const config::SkillGroup* group = directory_.findSkillGroup(call.skillGroupId);
    o.outputs.push(PlayToLeg{call.customerLeg, hold, group ? group->holdMusic : std::string()});
  } else {
    // RFC 3264 §8.4 on both legs: the customer's side stops sending to the
    // agent (a PBX there plays its own music to the customer in answer to
    // sendonly), and the agent's phone stops sending to the customer. Also
    // with anchored media on a codec we cannot encode music in (G.722...).
    o.outputs.push(HoldLeg{call.customerLeg, hold});
  }
  o.outputs.push(HoldLeg{call.agentLeg, hold});
  setHeld(call, hold, "seat", now, o.outputs);
  return o;
}

// The mute of the agent's microphone (Call.muteMic): only where seatbridge
// relays the audio can it silence one direction (docs/CORE.md, "Mute").
Outcome Gateway::callMute(const std::string& userId, const std::string& sessionId, bool mute) {
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = *found;
  if (!directory_.mediaAnchored)
    return Outcome::failure(errc::mediaNotAnchored,
                            "muting needs the call's audio relayed by seatbridge (media.mode anchored)");
  if (call.phase != Call::Phase::bridged || call.agentUserId != userId)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is not answered by " + userId);
  Outcome o = Outcome::success({{"sessionId", sessionId}, {"muted", mute}});
  if (call.micMuted != mute) o.outputs.push(MuteLeg{call.agentLeg, mute});
  call.micMuted = mute;
  return o;
}

Outcome Gateway::callIsMicMuted(const std::string& userId, const std::string& sessionId) {
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  if (!directory_.mediaAnchored)
    return Outcome::failure(errc::mediaNotAnchored, "no mute without anchored media (media.mode anchored)");
  return Outcome::success({{"sessionId", sessionId}, {"muted", found->agentUserId == userId && found->micMuted}});
}

// The agent's phone's hold key. With anchored media the SIP layer answered
// its re-INVITE itself and the customer's leg is still sendrecv: the customer
// hears the skill group's holdMusic, as with Call.hold, until the phone
// resumes. Without, its re-INVITE went on to the customer's side as it came.
void Gateway::phoneHeld(Call& call, bool held, TimePoint now, Outputs& out) {
  const Session* s = sessions_.find(call.sessionId);
  if (!s || held == (s->state == SessionState::held)) return;  // held already (Call.hold): its music plays
  if (decodes(call)) {  // else its hold was relayed to the customer as it came (ownHold)
    const config::SkillGroup* group = directory_.findSkillGroup(call.skillGroupId);
    out.push(PlayToLeg{call.customerLeg, held, held && group ? group->holdMusic : std::string()});
  }
  setHeld(call, held, "seat", now, out);
}

void Gateway::stopMusic(const Call& call, Outputs& out) const {
  if (directory_.mediaAnchored) out.push(PlayToLeg{call.customerLeg, false, {}});  // harmless when none plays
}

void Gateway::setHeld(Call& call, bool held, const char* by, TimePoint now, Outputs& out) {
  Session* s = sessions_.find(call.sessionId);
  if (!s) return;
  const SessionState want = held ? SessionState::held : SessionState::active;
  if (s->state == want || !transitionSession(*s, want, wallMs(now)).ok()) return;
  const nlohmann::json data{{"sessionId", call.sessionId}, {"by", by}};
  out.push(sessionEvent(held ? event::hold : event::unHold, call.agentUserId, data));
  if (!call.peerUserId.empty()) out.push(sessionEvent(held ? event::hold : event::unHold, call.peerUserId, data));
}

}  // namespace sb::core
