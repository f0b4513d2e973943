// A desk phone's attended transfer (RFC 5589 §7, docs/CORE.md "Transfer"):
// the agent talks to a customer, calls a colleague (an internal call), and
// presses transfer; the phone REFERs one of its two calls to us with a
// Replaces that names the other (RFC 3515, RFC 3891). Both dialogs end at
// seatbridge, which is the transfer target itself: nothing new is sent to
// anyone. The customer and the colleague are put through to each other (each
// re-offered the other's current SDP, one after the other), the agent's two
// legs are BYEd (the Replaces' dialog by us, as its recipient does, §3; the
// REFER's after the NOTIFY 200 that tells the phone, RFC 5589 §6), and the
// customer's session goes on with the colleague as its agent.
//
// When the colleague is still ringing (the phone transfers before they
// answer, "semi-attended"), the consultation is withdrawn and the customer is
// transferred to them blind, as Call.transfer would.
#include "core/gateway.hpp"

namespace sb::core {
namespace {

// A customer's inbound call answered by an agent: what a transfer may move.
bool transferable(const Call& call) {
  return call.phase == Call::Phase::bridged && !call.internal && !call.outbound && !call.thirdParty &&
         !call.agentUserId.empty() && call.transferLeg == 0;
}

// The colleague's side of an internal call `agent` takes part in.
struct Colleague {
  LegId agentLeg = 0;  // the agent's own leg in it
  LegId leg = 0;       // the colleague's
  std::string userId;
  ServerType device = ServerType::staffExtensionSeat;
};
std::optional<Colleague> colleagueIn(const Call& call, const std::string& agent) {
  if (!call.internal) return std::nullopt;
  if (call.agentUserId == agent) {
    // The agent called them: customerLeg rings (or rang) their desk phone, or
    // their mobile (Call.startInternalCall's useMobile).
    const bool mobile = call.peerTarget && !std::holds_alternative<DeskPhoneTarget>(*call.peerTarget);
    return Colleague{call.agentLeg, call.customerLeg, call.peerUserId,
                     mobile ? ServerType::staffPhoneSeat : ServerType::staffExtensionSeat};
  }
  if (call.peerUserId == agent) return Colleague{call.customerLeg, call.agentLeg, call.agentUserId, call.offerDevice};
  return std::nullopt;
}

}  // namespace

void Gateway::attendedTransfer(Call& referred, const LegRefer& refer, TimePoint now, Outputs& out) {
  Call* other = refer.replaces != 0 ? callOfLeg(refer.replaces) : nullptr;
  if (!other) {
    out.push(NotifyRefer{refer.leg, 481});  // RFC 3891 §3: no dialog matches the Replaces
    return;
  }
  // Which of the two is the customer's call: the REFER may come in either.
  Call& cust = transferable(referred) ? referred : *other;
  Call& cons = &cust == &referred ? *other : referred;
  const std::optional<Colleague> peer = &cust == &cons ? std::nullopt : colleagueIn(cons, cust.agentUserId);
  // Exactly the agent's two legs, one in each call (RFC 3891 §6: only a party
  // to the replaced dialog may ask for it to be replaced); a colleague signed
  // in, so the session keeps an agent. Anything else (two customers, two
  // colleagues, a call the agent placed) is refused: a trunk-to-trunk bridge
  // with no agent on it is what toll fraud looks for.
  const bool legsMatch = peer && ((refer.leg == cust.agentLeg && refer.replaces == peer->agentLeg) ||
                                  (refer.leg == peer->agentLeg && refer.replaces == cust.agentLeg));
  if (!transferable(cust) || !legsMatch || peer->userId.empty() || !agent(peer->userId)) {
    out.push(NotifyRefer{refer.leg, 403});
    return;
  }
  const Colleague b = *peer;
  if (cons.phase != Call::Phase::bridged) {
    // Semi-attended: the colleague's phone still rings for the consultation.
    if (refer.leg != cust.agentLeg) {
      out.push(NotifyRefer{refer.leg, 403});
      return;
    }
    const std::string extension = cons.peerExtension;
    abandonDialling(cons, 487, CloseBy::seat, EndState::callerCancel, now, out);
    Outcome o = callTransfer(cust.agentUserId, cust.sessionId, b.userId, "", now);
    if (o.result.error) {
      out.push(NotifyRefer{refer.leg, o.result.error->code == errc::invalidTransition ? 486 : 480});
      return;
    }
    cust.referLeg = refer.leg;  // told how it went once the colleague answers or not
    out.append(std::move(o.outputs));
    return;
  }

  // The phone hears it worked, then both its legs go.
  out.push(NotifyRefer{refer.leg, 200});
  out.push(HangUpLeg{cust.agentLeg});
  out.push(HangUpLeg{b.agentLeg});
  // The customer is re-offered the colleague's SDP: either call's codec may be the bridge's.
  cust.undecodable = cust.undecodable || cons.undecodable;
  out.push(BridgeLegs{cust.customerLeg, b.leg, ownHold(cust, b.leg)});
  out.push(ReofferLeg{cust.customerLeg, b.leg, b.leg});
  stopMusic(cust, out);
  // The colleague joins the customer's session before the consultation ends,
  // so they stay busy throughout; the consultation's end tells both agents.
  seizeForCall(b.userId, cust, now, out);
  const LegId colleagueLeg = b.leg;
  if (cons.agentLeg == colleagueLeg) cons.agentLeg = 0;
  if (cons.customerLeg == colleagueLeg) cons.customerLeg = 0;
  endCall(cons, CloseBy::seat, EndState::ok, now, out);  // `cons` is gone from here on
  legCalls_[colleagueLeg] = cust.sessionId;

  const std::string first = cust.agentUserId;
  legCalls_.erase(cust.agentLeg);
  setHeld(cust, false, "seat", now, out);  // the customer hears the colleague now
  out.push(transferEvent(cust, b.userId, ""));
  agentLine(first, cust.offerDevice, false);
  releaseInto(first, cust.sessionId, wrapUpFor(first, cust.skillGroupId), now, out);
  cust.agentLeg = colleagueLeg;
  cust.micMuted = false;
  cust.agentUserId = b.userId;
  cust.offerDevice = b.device;
  agentLine(b.userId, b.device, true);
  Session* s = sessions_.find(cust.sessionId);
  if (!s) return;
  s->spec.userId = b.userId;
  s->spec.serverType = b.device;
  s->offers.push_back({b.userId, std::string(toString(b.device)), wallMs(now), "answered"});
  // The colleague's client learns whose call it now is, as a transferred call
  // reads: the offer (already answered, so no ring time) and the answer.
  out.push(phoneCallIn(cust, *s, b.userId, 0, b.device));
  out.push(sessionEvent(event::userAccessed, b.userId, {{"sessionId", cust.sessionId}, {"tabUUID", ""}}));
}

}  // namespace sb::core
