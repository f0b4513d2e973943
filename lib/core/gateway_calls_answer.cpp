// Inbound customer calls, from the answer on: bridging, the end of a call, the
// SIP layer's facts and core's call timers, and the Call.* methods
// (docs/CORE.md, "Calls"); gateway_calls.cpp has arrival, routing and offers.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/gateway.hpp"

namespace sb::core {

// ---- answer and end -----------------------------------------------------------------

void Gateway::answered(Call& call, LegId leg, TimePoint now, Outputs& out) {
  cancelTimer(call.ringTimer, out);
  cancelTimer(call.retryTimer, out);
  cancelTimer(call.queueTimer, out);
  auto& ids = waiting_[call.skillGroupId];
  ids.erase(std::remove(ids.begin(), ids.end(), call.sessionId), ids.end());
  call.phase = Call::Phase::bridged;
  call.agentLeg = leg;
  call.micMuted = false;  // a new agent (after a transfer to a queue) starts unmuted
  call.agentUserId = call.offeredTo;
  call.offerLeg = 0;
  call.answeredAt = now;
  missedInARow_.erase(call.agentUserId);
  // Answer first: the customer's 200 carries the agent's SDP answer (after a
  // transfer to a queue the customer's leg is answered already: the new
  // agent's SDP is re-offered to it); then the legs relay each other's
  // in-dialog requests; then integrators hear of it.
  if (call.customerAnswered) {
    out.push(ReofferLeg{call.customerLeg, leg});
    stopMusic(call, out);  // put on hold, then transferred to a queue: the new agent is heard
  } else {
    out.push(AnswerLeg{call.customerLeg, leg});
    if (std::exchange(call.queueMusic, false)) out.push(PlayToLeg{call.customerLeg, false, {}});  // the agent is heard
  }
  call.customerAnswered = true;
  out.push(BridgeLegs{call.customerLeg, leg, ownHold(call, leg)});
  recordOnAnswer(call, out);
  if (Session* s = sessions_.find(call.sessionId)) {
    transitionSession(*s, SessionState::active, wallMs(now));
    if (!s->offers.empty()) s->offers.back().outcome = "answered";
  }
  agentLine(call.agentUserId, call.offerDevice, true);
  out.push(sessionEvent(event::userAccessed, call.agentUserId,
                        {{"sessionId", call.sessionId}, {"tabUUID", std::exchange(call.acceptedBy, {})}}));
}

// Ends the call in every respect: legs still up are released, the agent is
// freed (with after-call work only if they talked), the session is closed and
// sessionEnded goes to the agent who had it (or to `all` subscribers when no
// agent was ever offered it).
void Gateway::endCall(Call& call, CloseBy closeBy, EndState endState, TimePoint now, Outputs& out,
                      const std::string& mainReason) {
  cancelTimer(call.ringTimer, out);
  cancelTimer(call.queueTimer, out);
  cancelTimer(call.lifeTimer, out);
  cancelTimer(call.confirmTimer, out);
  cancelTimer(call.retryTimer, out);
  if (call.transferLeg != 0) abandonTransfer(call, "withdrawn", false, now, out);
  endMonitor(call, "sessionEnded", false, now, out);
  if (call.recording != Call::Recording::off) out.push(RecordLeg{call.customerLeg, RecordLeg::Op::stop, {}, true});
  const bool bridged = call.phase == Call::Phase::bridged;
  const std::string userId = bridged || call.outbound ? call.agentUserId : call.offeredTo;
  if (call.offerLeg != 0) {
    out.push(CancelLeg{call.offerLeg});
    legCalls_.erase(call.offerLeg);
    if (Session* s = sessions_.find(call.sessionId))
      if (!s->offers.empty() && s->offers.back().outcome.empty()) s->offers.back().outcome = "withdrawn";
  }
  keepForQuality(call);  // their final call quality comes after the end (gateway_quality.cpp)
  legCalls_.erase(call.customerLeg);
  legCalls_.erase(call.agentLeg);
  if (call.outbound) {
    if (auto live = outboundLive_.find(call.limitKey); live != outboundLive_.end() && --live->second == 0)
      outboundLive_.erase(live);
  } else {
    auto& ids = waiting_[call.skillGroupId];
    ids.erase(std::remove(ids.begin(), ids.end(), call.sessionId), ids.end());
  }
  SessionEnd end{closeBy, endState, mainReason, {}};
  sessions_.transition(call.sessionId, SessionState::ended, wallMs(now), end);
  // The session's end first, then what it does to the agent (arrange, free), as
  // the SDK's life cycle reads.
  nlohmann::json data{{"sessionId", call.sessionId},
                      {"closeBy", toString(closeBy)},
                      {"mainReason", end.mainReason},
                      {"subReason", end.subReason}};
  // An internal call is both agents' session: each hears of its end.
  if (!call.peerUserId.empty()) out.push(sessionEvent(event::sessionEnded, call.peerUserId, data));
  // (A phone bound to no agent, calling one, tells nobody else.)
  if (!userId.empty() || call.peerUserId.empty()) out.push(sessionEvent(event::sessionEnded, userId, std::move(data)));
  if (call.internal) {
    // No customer, no after-call work: both agents are free at once.
    if (bridged) {
      extensions_.callEnded(call.extensionId);
      extensions_.callEnded(call.peerExtension);
    }
    releaseInto(call.agentUserId, call.sessionId, Duration::zero(), now, out);
    releaseInto(call.peerUserId, call.sessionId, Duration::zero(), now, out);
  } else if (bridged) {
    if (call.outbound) {
      extensions_.callEnded(call.extensionId);
    } else {
      agentLine(call.agentUserId, call.offerDevice, false);
    }
    releaseInto(call.agentUserId, call.sessionId, wrapUpFor(call.agentUserId, call.skillGroupId), now, out);
  } else if (!userId.empty()) {
    releaseInto(userId, call.sessionId, Duration::zero(), now, out);
  }
  calls_.erase(call.sessionId);  // `call` is gone from here on
}

// The desk-phone line of an agent whose call on `device` started or ended
// (Gateway.listExtensions' deviceState); a mobile has no line.
void Gateway::agentLine(const std::string& userId, ServerType device, bool started) {
  if (device != ServerType::staffExtensionSeat) return;
  const config::Agent* cfg = directory_.findAgent(userId);
  if (!cfg) return;
  if (started)
    extensions_.callStarted(cfg->extension);
  else
    extensions_.callEnded(cfg->extension);
}

// A waiting customer nobody will take: refused, or, once answered (back in a
// queue after a transfer), hung up.
void Gateway::turnAway(Call& call, int code, const char* phrase, Outputs& out) {
  if (call.customerAnswered)
    out.push(HangUpLeg{call.customerLeg});
  else
    out.push(RejectLeg{call.customerLeg, code, phrase});
}

// calls.mobileConfirmSeconds: a mobile (staffPhoneSeat) that answered waits
// for the agent's key, its ring bound replaced by the confirmation bound.
// True when it now waits; false when the answer counts at once.
bool Gateway::awaitMobileKey(Call& call, TimePoint now, Outputs& out) {
  const int confirm = directory_.calls.mobileConfirmSeconds;
  if (call.offerDevice != ServerType::staffPhoneSeat || confirm <= 0) return false;
  cancelTimer(call.ringTimer, out);
  call.confirming = true;
  call.confirmTimer = startCallTimer(call.sessionId, now + std::chrono::seconds(confirm), out);
  return true;
}

// The key (or Call.accept) came: the wait is over.
void Gateway::mobileKeyed(Call& call, Outputs& out) {
  call.confirming = false;
  cancelTimer(call.confirmTimer, out);
}

// ---- facts ------------------------------------------------------------------------

Outputs Gateway::onLegFact(const LegFact& fact, TimePoint now) {
  if (const auto* q = std::get_if<LegQuality>(&fact)) return onQuality(*q);  // a figure, not an event of the call
  Outputs out;
  std::visit(
      [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        Call* call = callOfLeg(f.leg);
        if (!call) {
          // A leg core has let go of. A 2xx on it must not leave a dialog up.
          if constexpr (std::is_same_v<F, LegAnswered>) out.push(HangUpLeg{f.leg});
          return;
        }
        // The codec of the bridge the answering leg makes (a supervisor's
        // leg hears a mix in G.711 whatever it is): docs/CORE.md, "Codecs".
        if constexpr (std::is_same_v<F, LegAnswered> || std::is_same_v<F, LegCodec>)
          if (f.leg != call->monitorLeg) call->undecodable = !f.decodable;
        if constexpr (std::is_same_v<F, LegCodec>) return;  // a re-INVITE's answer, no step of the call
        if constexpr (std::is_same_v<F, LegRefer>) {
          onRefer(*call, f, now, out);
          return;
        }
        if constexpr (std::is_same_v<F, LegHeld>) {
          // The far end's own hold: the agent's phone (its hold key) or the customer's side.
          if (call->phase != Call::Phase::bridged) return;
          if (f.leg == call->agentLeg)
            phoneHeld(*call, f.held, now, out);  // gateway_hold.cpp
          else if (f.leg == call->customerLeg)
            setHeld(*call, f.held, "client", now, out);
          return;
        }
        if constexpr (std::is_same_v<F, LegRecordingFailed>) {
          recordingFailed(*call, f.reason, out);
          return;
        }
        if (call->monitorLeg != 0 && f.leg == call->monitorLeg) {
          onMonitorFact(*call, fact, now, out);  // gateway_monitor.cpp
          return;
        }
        if constexpr (std::is_same_v<F, LegDigit>) {
          // A paused recording is a card number being read out: its digits
          // are not reported, kept or passed on to anyone (only relayed to
          // the other leg, as the phone sent them).
          if (call->phase == Call::Phase::bridged && call->recording == Call::Recording::paused) return;
        }
        if (call->outbound) return onOutboundFact(*call, fact, now, out);
        if (call->transferLeg != 0 && onTransferFact(*call, fact, now, out)) return;
        const bool isCustomer = f.leg == call->customerLeg;
        if constexpr (std::is_same_v<F, LegRinging>) {
          // The customer already hears 180; an agent's ringing only tells
          // whether Call.accept can answer the phone.
          if (f.leg == call->offerLeg && f.remoteAnswer) call->remoteAnswer = true;
        } else if constexpr (std::is_same_v<F, LegAnswered>) {
          // A mobile's voicemail answers too: the customer is put through
          // on the agent's key (docs/CORE.md, "Calls").
          if (!isCustomer && f.leg == call->offerLeg && !call->confirming && !awaitMobileKey(*call, now, out))
            answered(*call, f.leg, now, out);
        } else if constexpr (std::is_same_v<F, LegDigit>) {
          if (f.leg == call->offerLeg && call->confirming) {
            mobileKeyed(*call, out);
            answered(*call, f.leg, now, out);
          } else if (call->phase == Call::Phase::bridged) {
            out.push(dtmfEvent(*call, f.digit, isCustomer));
          }
        } else if constexpr (std::is_same_v<F, LegFailed>) {
          if (isCustomer) {
            endCall(*call, CloseBy::client, EndState::clientError, now, out);
          } else if (f.leg == call->offerLeg) {
            withdrawOffer(*call, isRefusal(f.code) ? "rejected" : "failed", true, now, out);
          }
        } else if constexpr (std::is_same_v<F, LegCancelled>) {
          if (isCustomer && call->phase == Call::Phase::waiting) {
            const EndState state = call->offerLeg != 0 ? EndState::ringingGiveUp : EndState::waitingGiveUp;
            endCall(*call, CloseBy::client, state, now, out);
          }
        } else if constexpr (std::is_same_v<F, LegEnded>) {
          if (call->phase != Call::Phase::bridged) {
            if (isCustomer) endCall(*call, CloseBy::client, EndState::waitingGiveUp, now, out);
            // The mobile hung up before confirming: the device did not take the call.
            else if (f.leg == call->offerLeg) withdrawOffer(*call, "failed", true, now, out);
            return;
          }
          // One side is gone: hang up the other and close the session.
          out.push(HangUpLeg{isCustomer ? call->agentLeg : call->customerLeg});
          endCall(*call, isCustomer ? CloseBy::client : CloseBy::seat, EndState::ok, now, out);
        }
      },
      fact);
  dispatch(now, out);
  return out;
}

Outputs Gateway::onCallTimer(TimerId id, TimePoint now) {
  Outputs out;
  const std::string sessionId = callTimers_[id];
  callTimers_.erase(id);
  auto it = calls_.find(sessionId);
  if (it == calls_.end()) return out;
  Call& call = it->second;
  if (id == call.monitorTimer) {
    call.monitorTimer = 0;
    endMonitor(call, "missed", false, now, out);  // the supervisor's device did not answer
  } else if (call.outbound && (id == call.ringTimer || id == call.confirmTimer ||
                        (id == call.lifeTimer && call.phase != Call::Phase::bridged))) {
    for (TimerId* t : {&call.ringTimer, &call.confirmTimer, &call.lifeTimer})
      if (*t == id) *t = 0;  // fired: nothing to cancel
    outboundRingTimeout(call, now, out);
  } else if (id == call.ringTimer) {
    call.ringTimer = 0;  // fired: nothing to cancel
    withdrawOffer(call, "missed", false, now, out,
                  sessionEvent(event::autoTransfer, call.offeredTo, {{"sessionId", sessionId}}));
  } else if (id == call.queueTimer) {
    call.queueTimer = 0;
    // The wait is over (closeBy timer). seatGiveUp when agents were rung and
    // none answered, unconnected when no agent could even be offered the call.
    const Session* s = sessions_.find(sessionId);
    const EndState state = s && !s->offers.empty() ? EndState::seatGiveUp : EndState::unconnected;
    // RFC 3261 §21.4.18: nobody can take the call now; try again later.
    turnAway(call, 480, "No Agent Available", out);
    endCall(call, CloseBy::timer, state, now, out);
  } else if (id == call.retryTimer) {
    call.retryTimer = 0;  // the dispatch below may offer it again
  } else if (id == call.confirmTimer) {
    call.confirmTimer = 0;
    // Answered, but no key within the bound: a voicemail or a pocket. A missed
    // offer, as a ring timeout is; the CANCEL of an answered leg is its BYE.
    withdrawOffer(call, "missed", false, now, out,
                  sessionEvent(event::autoTransfer, call.offeredTo, {{"sessionId", sessionId}}));
  } else if (id == call.transferTimer) {
    call.transferTimer = 0;
    abandonTransfer(call, "missed", false, now, out);
  } else if (id == call.lifeTimer) {
    call.lifeTimer = 0;
    // calls.maxSessionSeconds: the sweeper of last resort for a call whose far
    // ends both went silent without a BYE, or that simply runs too long.
    if (call.phase == Call::Phase::bridged) {
      out.push(HangUpLeg{call.agentLeg});
      out.push(HangUpLeg{call.customerLeg});
      endCall(call, CloseBy::timer, EndState::ok, now, out, "maxSessionLifetime");
    } else {
      turnAway(call, 480, "No Agent Available", out);
      endCall(call, CloseBy::timer, EndState::unconnected, now, out, "maxSessionLifetime");
    }
  }
  dispatch(now, out);
  return out;
}

// ---- Call.* -----------------------------------------------------------------------

// The live call offered to or answered by the agent (ids are not probeable
// across agents: another agent's session is as unknown as a made-up one).
Call* Gateway::agentsCall(const std::string& userId, const std::string& sessionId) {
  auto it = calls_.find(sessionId);
  if (it == calls_.end() || userId.empty() ||
      (it->second.offeredTo != userId && it->second.agentUserId != userId && it->second.peerUserId != userId))
    return nullptr;
  return &it->second;
}

Outcome Gateway::callAccept(const std::string& userId, const std::string& sessionId, const std::string& tabUuid,
                            TimePoint now) {
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = *found;
  if (call.offerLeg == 0 || call.offeredTo != userId)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is already answered");
  Outcome o = Outcome::success({{"sessionId", sessionId}});
  if (call.confirming) {
    // The mobile answered and waits for the agent's key: the socket's accept
    // is as good a confirmation as a key.
    mobileKeyed(call, o.outputs);
    call.acceptedBy = tabUuid;
    answered(call, call.offerLeg, now, o.outputs);
    dispatch(now, o.outputs);
    return o;
  }
  if (call.offerDevice == ServerType::staffPhoneSeat)
    return Outcome::failure(errc::remoteAnswerUnsupported,
                            "the offer rings the agent's mobile through a trunk: answer it on the mobile");
  if (!call.remoteAnswer)
    return Outcome::failure(errc::remoteAnswerUnsupported,
                            "the desk phone did not offer remote answer (no `talk` in its ringing response's "
                            "Allow-Events): lift the handset");
  // Asked once: a second Call.accept while the phone picks up changes nothing.
  if (!call.acceptAsked) {
    call.acceptAsked = true;
    call.acceptedBy = tabUuid;
    o.outputs.push(AnswerRemotely{call.offerLeg});
  }
  return o;
}

Outcome Gateway::callSendDigits(const std::string& userId, const std::string& sessionId,
                                const std::string& dtmfText) {
  // The keys of a telephone keypad and the four of RFC 4733 §3.2 (A-D), which
  // is also what application/dtmf-relay's Signal carries; lower-case a-d too.
  std::string digits;
  for (char c : dtmfText) {
    const char u = (c >= 'a' && c <= 'd') ? static_cast<char>(c - 'a' + 'A') : c;
    if (!((u >= '0' && u <= '9') || u == '*' || u == '#' || (u >= 'A' && u <= 'D')))
      return Outcome::failure(errc::invalidParams, std::string("dtmfText: '") + c + "' is not a DTMF digit (0-9 * # A-D)");
    digits += u;
  }
  if (digits.empty() || digits.size() > kMaxDigits)
    return Outcome::failure(errc::invalidParams,
                            "dtmfText: 1 to " + std::to_string(kMaxDigits) + " digits, not " + std::to_string(digits.size()));
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  if (found->phase != Call::Phase::bridged)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is not answered: no call to send digits into");
  Outcome o = Outcome::success({{"sessionId", sessionId}, {"dtmfText", digits}});
  o.outputs.push(SendDigits{found->customerLeg, digits});
  return o;
}

Outcome Gateway::callEnd(const std::string& userId, const std::string& sessionId, TimePoint now) {
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = *found;
  if (call.offerLeg == 0 || call.offeredTo != userId)
    return Outcome::failure(errc::invalidTransition, "Call.end refuses a ringing offer; use Call.hungUp");
  Outcome o = Outcome::success({{"sessionId", sessionId}});
  withdrawOffer(call, "rejected", false, now, o.outputs);
  dispatch(now, o.outputs);
  return o;
}

Outcome Gateway::callHungUp(const std::string& userId, const std::string& sessionId, TimePoint now) {
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = *found;
  if (call.phase != Call::Phase::bridged && !call.outbound) return callEnd(userId, sessionId, now);
  Outcome o = Outcome::success({{"sessionId", sessionId}});
  if (call.phase != Call::Phase::bridged) {
    // The agent gives up dialling: RFC 3261 §21.4.26 on the phone's INVITE.
    abandonDialling(call, 487, CloseBy::seat, EndState::callerCancel, now, o.outputs);
    dispatch(now, o.outputs);
    return o;
  }
  o.outputs.push(HangUpLeg{call.agentLeg});
  o.outputs.push(HangUpLeg{call.customerLeg});
  endCall(call, CloseBy::seat, EndState::ok, now, o.outputs);
  dispatch(now, o.outputs);
  return o;
}

Outputs Gateway::endAllCalls(const std::string& reason, TimePoint now) {
  Outputs out;
  std::vector<std::string> ids;
  for (const auto& [id, c] : calls_) ids.push_back(id);
  for (const auto& id : ids) {
    Call& call = calls_.at(id);
    if (call.phase == Call::Phase::bridged) {
      out.push(HangUpLeg{call.agentLeg});
      out.push(HangUpLeg{call.customerLeg});
      endCall(call, CloseBy::admin, EndState::ok, now, out, reason);
    } else if (call.outbound) {
      abandonDialling(call, 503, CloseBy::admin, EndState::unconnected, now, out, reason);
    } else {
      // RFC 3261 §21.5.4: the service is going away; the PBX may try elsewhere.
      turnAway(call, 503, "Service Unavailable", out);
      endCall(call, CloseBy::admin, EndState::unconnected, now, out, reason);
    }
  }
  return out;
}

Outputs Gateway::onTrunkState(const std::string& trunk, bool up, TimePoint now) {
  Outputs out;
  auto it = trunkUp_.find(trunk);
  if (it != trunkUp_.end() && it->second == up) return out;
  trunkUp_[trunk] = up;
  Event e;
  e.name = std::string(event::trunkStateChanged);
  e.data = {{"trunk", trunk}, {"up", up}};
  out.push(std::move(e));
  if (up) dispatch(now, out);  // a mobile agent may be reachable again
  return out;
}

std::map<std::string, QueueStat> Gateway::queueStats(TimePoint now) const {
  std::map<std::string, QueueStat> stats;
  for (const auto& g : directory_.skillGroups) stats[g.id];
  for (const auto& [group, ids] : waiting_) {
    QueueStat& q = stats[group];
    for (const auto& id : ids) {
      auto it = calls_.find(id);
      if (it == calls_.end()) continue;
      ++q.waiting;
      q.oldestWait = std::max(q.oldestWait, now - it->second.queuedAt);
    }
  }
  return stats;
}

}  // namespace sb::core
