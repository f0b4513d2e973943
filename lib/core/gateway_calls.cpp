// Inbound customer calls: queue per skill group, offer to one agent at a time,
// answer and bridge, end (docs/CORE.md, "Calls"). Every entry point returns one
// ordered list of actions; the SIP layer carries out leg actions in that order.
#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include "core/gateway.hpp"

namespace sb::core {
namespace {

Event sessionEvent(std::string_view name, const std::string& userId, nlohmann::json data) {
  Event e;
  e.name = std::string(name);
  if (!userId.empty()) e.userId = userId;
  e.data = std::move(data);
  return e;
}

// A refusal by the person (RFC 3261 §21.4.7 486, §21.6.2 600, §21.6.3 603) moves
// the call on as a rejection; anything else (408, 480, 5xx) means the device
// did not answer: a missed offer.
bool isRefusal(int code) { return code == 486 || code == 600 || code == 603; }

// An agent alone with the skill who refused or missed a call is offered it again,
// but not at once: a device that fails every offer instantly (a dead TCP
// binding, a trunk answering 503) would otherwise be rung in a tight loop.
constexpr Duration kReofferDelay = std::chrono::seconds(2);

}  // namespace

TimerId Gateway::startTimer(TimePoint deadline, Outputs& out) {
  const TimerId id = nextTimerId_++;
  out.push(TimerAction{TimerAction::Op::start, id, deadline});
  return id;
}

void Gateway::cancelTimer(TimerId& id, Outputs& out) {
  if (id == 0) return;
  out.push(TimerAction{TimerAction::Op::cancel, id, {}});
  callTimers_.erase(id);
  id = 0;
}

Call* Gateway::callOfLeg(LegId leg) {
  auto it = legCalls_.find(leg);
  if (it == legCalls_.end()) return nullptr;
  auto c = calls_.find(it->second);
  return c == calls_.end() ? nullptr : &c->second;
}

// ---- arrival --------------------------------------------------------------------

InboundDecision Gateway::onInboundCall(const InboundCall& in, TimePoint now) {
  InboundDecision d;
  d.leg = nextLegId_++;
  const config::Number* number = directory_.findNumber(in.number);
  const config::SkillGroup* dialled = number ? directory_.findSkillGroup(number->skillGroup) : nullptr;
  if (!dialled) {
    // RFC 3261 §21.4.5: the number is not one of ours.
    d.outputs.push(RejectLeg{d.leg, 404, "Number Not Configured"});
    return d;
  }
  const config::SkillGroup* queued = queueFor(dialled);
  const config::SkillGroup* group = queued ? queued : dialled;
  SessionSpec spec;
  spec.type = SessionType::phone;
  spec.direction = Direction::inbound;
  spec.callerPhoneNumber = in.callerNumber;
  spec.calleePhoneNumber = in.number;
  spec.skillGroupId = group->id;
  spec.trunk = in.trunk;
  Session& s = sessions_.create(spec, wallMs(now));
  Call& call = calls_[s.sessionId];
  call.sessionId = s.sessionId;
  call.skillGroupId = group->id;
  call.trunk = in.trunk;
  call.customerLeg = d.leg;
  call.queuedAt = now;
  call.ivrPath = in.ivrPath;
  legCalls_[d.leg] = s.sessionId;
  if (!queued) {
    // Every queue on the way is full. 486 Busy Here (RFC 3261 §21.4.24): the
    // PBX plays its busy treatment or routes the call elsewhere.
    d.outputs.push(RejectLeg{d.leg, 486, "Queue Full"});
    endCall(call, CloseBy::admin, EndState::busy, now, d.outputs, "queueFull");
    return d;
  }
  if (!anyAgentOnline(group->id)) {
    // Nobody signed in holds the skill: waiting would only delay the bad news.
    // The customer hears 480 Temporarily Unavailable (RFC 3261 §21.4.18).
    d.outputs.push(RejectLeg{d.leg, 480, "No Agent Online"});
    endCall(call, CloseBy::admin, EndState::noSeatOnline, now, d.outputs, "noSeatOnline");
    return d;
  }
  // RFC 3261 §21.1.2: the customer hears ringing while waiting for an agent.
  d.outputs.push(SendProvisional{d.leg, 180});
  call.queueTimer = startTimer(now + std::chrono::seconds(std::max(1, group->queueTimeout)), d.outputs);
  callTimers_[call.queueTimer] = call.sessionId;
  waiting_[group->id].push_back(call.sessionId);
  const std::string sessionId = call.sessionId;
  dispatch(now, d.outputs);
  if (directory_.calls.maxSessionSeconds > 0) {
    // Started after the dispatch only so that an offer's ring timer keeps its
    // place in the actions (what a reader of them expects first).
    Call& queuedCall = calls_.at(sessionId);
    queuedCall.lifeTimer = startTimer(now + std::chrono::seconds(directory_.calls.maxSessionSeconds), d.outputs);
    callTimers_[queuedCall.lifeTimer] = sessionId;
  }
  return d;
}

bool Gateway::anyAgentOnline(const std::string& skillGroupId) const {
  auto it = groupAgents_.find(skillGroupId);
  if (it == groupAgents_.end()) return false;
  for (const auto& [cfg, priority] : it->second) {
    const Agent* a = findAgent(cfg->userId);
    if (a && a->status() != AgentStatus::offline) return true;
  }
  return false;
}

// maxQueueLength counts every customer not yet answered, ringing ones included
// (what seatbridge_queue_waiting shows). A full queue hands new calls to its
// overflowTo group, hop by hop; config validation rules out loops, and the hop
// bound keeps a directory built by hand from spinning.
const config::SkillGroup* Gateway::queueFor(const config::SkillGroup* group) const {
  for (size_t hops = 0; group && hops <= directory_.skillGroups.size(); ++hops) {
    auto w = waiting_.find(group->id);
    const size_t waiting = w == waiting_.end() ? 0 : w->second.size();
    if (group->maxQueueLength <= 0 || waiting < static_cast<size_t>(group->maxQueueLength)) return group;
    group = group->overflowTo.empty() ? nullptr : directory_.findSkillGroup(group->overflowTo);
  }
  return nullptr;
}

// ---- routing --------------------------------------------------------------------

// Which device of the agent an offer rings (useMobileAccept, docs/CORE.md):
// 0 the desk phone only; 1 the desk phone, or the mobile when the desk phone is
// not registered or not answering keepalives; 2 the mobile alone. A mobile goes
// through the first configured trunk not known to be down.
std::optional<Gateway::Pick> Gateway::deviceFor(const config::Agent& cfg) const {
  const ExtensionState* ext = cfg.extension.empty() ? nullptr : extensions_.find(cfg.extension);
  const bool deskUp = ext && ext->registered && ext->reachable;
  const std::string* trunk = nullptr;
  for (const auto& t : directory_.trunks) {
    auto known = trunkUp_.find(t);
    if (known == trunkUp_.end() || known->second) {
      trunk = &t;
      break;
    }
  }
  const bool mobileUp = !cfg.mobile.empty() && trunk != nullptr;
  Pick p;
  p.userId = cfg.userId;
  const bool useDesk = cfg.useMobileAccept != 2 && deskUp;
  const bool useMobile = !useDesk && cfg.useMobileAccept != 0 && mobileUp;
  if (useDesk) {
    p.device = ServerType::staffExtensionSeat;
    p.target = DeskPhoneTarget{cfg.extension};
  } else if (useMobile) {
    p.device = ServerType::staffPhoneSeat;
    p.target = TrunkTarget{*trunk, cfg.mobile};
  } else {
    return std::nullopt;
  }
  return p;
}

// The eligible agents of a skill group: free, with a reachable device; lowest
// priority number first, then the longest idle, then configuration order.
std::vector<Gateway::Pick> Gateway::candidates(const std::string& skillGroupId) const {
  struct Ranked {
    int priority;
    int64_t idleSinceMs;
    Pick pick;
  };
  std::vector<Ranked> ranked;
  auto it = groupAgents_.find(skillGroupId);
  if (it == groupAgents_.end()) return {};
  for (const auto& [cfg, priority] : it->second) {
    const Agent* a = findAgent(cfg->userId);
    if (!a || !a->offerable()) continue;
    std::optional<Pick> device = deviceFor(*cfg);
    if (device) ranked.push_back({priority, a->statusSince().ms, std::move(*device)});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& x, const Ranked& y) {
    return std::tie(x.priority, x.idleSinceMs) < std::tie(y.priority, y.idleSinceMs);
  });
  std::vector<Pick> picks;
  picks.reserve(ranked.size());
  for (auto& r : ranked) picks.push_back(std::move(r.pick));
  return picks;
}

// Offers waiting calls, oldest first in each skill group, to free agents until
// either runs out. An agent who declined a call gets it only when no other
// eligible agent is left for it. Every input ends with a dispatch, so the usual
// case (every waiting call already rings someone) returns before ranking agents,
// and ranking is done once per group, not once per waiting call: under overload
// the cost stays linear in agents plus calls.
void Gateway::dispatch(TimePoint now, Outputs& out) {
  for (auto& [group, ids] : waiting_) {
    const bool anyUnoffered = std::any_of(ids.begin(), ids.end(), [this](const std::string& id) {
      auto it = calls_.find(id);
      return it != calls_.end() && it->second.offerLeg == 0;
    });
    if (!anyUnoffered) continue;
    std::vector<Pick> free = candidates(group);
    for (const auto& id : ids) {
      if (free.empty()) break;
      auto it = calls_.find(id);
      if (it == calls_.end() || it->second.offerLeg != 0) continue;
      Call& call = it->second;
      auto chosen = std::find_if(free.begin(), free.end(),
                                 [&call](const Pick& p) { return call.declined.count(p.userId) == 0; });
      if (chosen == free.end()) {
        // Only agents who declined this call are left: the best of those whose
        // refusal is kReofferDelay old; else a dispatch when the first one is.
        std::optional<TimePoint> due;
        chosen = std::find_if(free.begin(), free.end(), [&](const Pick& p) {
          const TimePoint ready = call.declined.at(p.userId) + kReofferDelay;
          if (ready <= now) return true;
          if (!due || ready < *due) due = ready;
          return false;
        });
        if (chosen == free.end()) {
          if (due && call.retryTimer == 0) {
            call.retryTimer = startTimer(*due, out);
            callTimers_[call.retryTimer] = call.sessionId;
          }
          continue;
        }
      }
      const Pick pick = std::move(*chosen);
      free.erase(chosen);
      offer(call, pick, now, out);
    }
  }
}

void Gateway::offer(Call& call, const Pick& pick, TimePoint now, Outputs& out) {
  Agent* a = agent(pick.userId);
  Session* s = sessions_.find(call.sessionId);
  if (!a || !s) return;
  // The agent is reserved (busy) for the offer, so no second call reaches them.
  Agent::Effects fx = a->seize(call.sessionId, now);
  if (!fx.ok()) return;
  applyTimers(*a, fx, out);
  if (fx.statusChanged) out.push(statusEvent(*a));
  const config::SkillGroup* group = directory_.findSkillGroup(call.skillGroupId);
  const int ringSeconds = std::max(1, group ? group->ringTimeout : 20);
  call.offerLeg = nextLegId_++;
  call.offeredTo = pick.userId;
  call.offerDevice = pick.device;
  call.offeredAt = now;
  legCalls_[call.offerLeg] = call.sessionId;
  if (s->state == SessionState::offering) transitionSession(*s, SessionState::ringing, wallMs(now));
  s->spec.userId = pick.userId;
  s->spec.serverType = pick.device;
  s->offers.push_back({pick.userId, std::string(toString(pick.device)), wallMs(now), {}});
  out.push(RingLeg{call.offerLeg, call.customerLeg, pick.target, call.sessionId, s->spec.callerPhoneNumber,
                   s->spec.calleePhoneNumber});
  out.push(sessionEvent(event::callIn, pick.userId,
                        {{"sessionId", call.sessionId},
                         {"type", "phone"},
                         {"timeout", ringSeconds},
                         {"calleePhoneNumber", s->spec.calleePhoneNumber},
                         {"callerPhoneNumber", s->spec.callerPhoneNumber},
                         {"callerLocation", ""},
                         {"remark", s->spec.remark},
                         {"ivrPath", call.ivrPath},
                         {"protectedCallee", s->spec.calleePhoneNumber},
                         {"protectedCaller", s->spec.callerPhoneNumber},
                         {"serverType", toString(pick.device)}}));
  call.ringTimer = startTimer(now + std::chrono::seconds(ringSeconds), out);
  callTimers_[call.ringTimer] = call.sessionId;
}

// The ringing offer is over without an answer: cancel its leg, free the agent
// without after-call work, remember the refusal, back to waiting.
// `legGone`: the leg already failed on the wire, so there is nothing to CANCEL.
// `announce` (autoTransfer) goes out before the agent's status changes back.
void Gateway::withdrawOffer(Call& call, const std::string& outcome, bool legGone, TimePoint now, Outputs& out,
                            std::optional<Event> announce) {
  if (call.offerLeg == 0) return;
  cancelTimer(call.ringTimer, out);
  cancelTimer(call.confirmTimer, out);
  call.confirming = false;
  if (!legGone) out.push(CancelLeg{call.offerLeg});
  legCalls_.erase(call.offerLeg);
  call.offerLeg = 0;
  const std::string userId = std::exchange(call.offeredTo, {});
  if (outcome != "withdrawn") call.declined[userId] = now;
  countMissed(call, userId, outcome, now, out);
  if (Session* s = sessions_.find(call.sessionId)) {
    if (!s->offers.empty() && s->offers.back().outcome.empty()) s->offers.back().outcome = outcome;
    if (s->state == SessionState::ringing) transitionSession(*s, SessionState::offering, wallMs(now));
  }
  if (announce) out.push(std::move(*announce));
  releaseInto(userId, call.sessionId, Duration::zero(), now, out);
}

// calls.maxMissedOffers: offers that rang out or that the device never took
// ("missed", "failed") in a row put the agent in notReady, so customers stop
// waiting on an empty desk. A refusal (486/603, Call.end) shows someone is
// there and starts the count again, as an answer or a status request does.
// The agent is still busy here, so notReady becomes the status the release
// goes to: one statusChanged {notReady}, never a free in between. A status the
// agent asked for meanwhile (pending) is left alone.
void Gateway::countMissed(Call&, const std::string& userId, const std::string& outcome, TimePoint now, Outputs& out) {
  if (outcome != "missed" && outcome != "failed") {
    missedInARow_.erase(userId);
    return;
  }
  const int limit = directory_.calls.maxMissedOffers;
  if (limit <= 0) return;
  if (++missedInARow_[userId] < limit) return;
  missedInARow_.erase(userId);
  Agent* a = agent(userId);
  if (!a || a->pending()) return;
  Agent::Effects fx = a->setStatus(RequestedStatus::notReady, {}, now);
  applyTimers(*a, fx, out);
  if (fx.statusChanged) out.push(statusEvent(*a));
}

void Gateway::releaseInto(const std::string& userId, const std::string& sessionId, Duration wrapUp, TimePoint now,
                          Outputs& out) {
  Agent* a = agent(userId);
  if (!a) return;
  Agent::Effects fx = a->release(sessionId, wrapUp, now);
  if (!fx.ok()) return;
  applyTimers(*a, fx, out);
  if (fx.statusChanged) out.push(statusEvent(*a));
}

// ---- answer and end -----------------------------------------------------------------

void Gateway::answered(Call& call, LegId leg, TimePoint now, Outputs& out) {
  cancelTimer(call.ringTimer, out);
  cancelTimer(call.retryTimer, out);
  cancelTimer(call.queueTimer, out);
  auto& ids = waiting_[call.skillGroupId];
  ids.erase(std::remove(ids.begin(), ids.end(), call.sessionId), ids.end());
  call.phase = Call::Phase::bridged;
  call.agentLeg = leg;
  call.agentUserId = call.offeredTo;
  call.offerLeg = 0;
  call.answeredAt = now;
  missedInARow_.erase(call.agentUserId);
  // Answer first: the customer's 200 carries the agent's SDP answer; then the
  // legs relay each other's in-dialog requests; then integrators hear of it.
  out.push(AnswerLeg{call.customerLeg, leg});
  out.push(BridgeLegs{call.customerLeg, leg});
  if (Session* s = sessions_.find(call.sessionId)) {
    transitionSession(*s, SessionState::active, wallMs(now));
    if (!s->offers.empty()) s->offers.back().outcome = "answered";
  }
  if (call.offerDevice == ServerType::staffExtensionSeat) {
    if (const config::Agent* cfg = directory_.findAgent(call.agentUserId)) extensions_.callStarted(cfg->extension);
  }
  out.push(sessionEvent(event::userAccessed, call.agentUserId, {{"sessionId", call.sessionId}, {"tabUUID", ""}}));
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
  const bool bridged = call.phase == Call::Phase::bridged;
  const std::string userId = bridged ? call.agentUserId : call.offeredTo;
  if (call.offerLeg != 0) {
    out.push(CancelLeg{call.offerLeg});
    legCalls_.erase(call.offerLeg);
    if (Session* s = sessions_.find(call.sessionId))
      if (!s->offers.empty() && s->offers.back().outcome.empty()) s->offers.back().outcome = "withdrawn";
  }
  legCalls_.erase(call.customerLeg);
  legCalls_.erase(call.agentLeg);
  auto& ids = waiting_[call.skillGroupId];
  ids.erase(std::remove(ids.begin(), ids.end(), call.sessionId), ids.end());
  SessionEnd end{closeBy, endState, mainReason, {}};
  sessions_.transition(call.sessionId, SessionState::ended, wallMs(now), end);
  // The session's end first, then what it does to the agent (arrange, free), as
  // the SDK's life cycle reads.
  nlohmann::json data{{"sessionId", call.sessionId},
                      {"closeBy", toString(closeBy)},
                      {"mainReason", end.mainReason},
                      {"subReason", end.subReason}};
  out.push(sessionEvent(event::sessionEnded, userId, std::move(data)));
  if (bridged) {
    if (call.offerDevice == ServerType::staffExtensionSeat) {
      if (const config::Agent* cfg = directory_.findAgent(call.agentUserId)) extensions_.callEnded(cfg->extension);
    }
    releaseInto(call.agentUserId, call.sessionId, wrapUpFor(call.agentUserId, call.skillGroupId), now, out);
  } else if (!userId.empty()) {
    releaseInto(userId, call.sessionId, Duration::zero(), now, out);
  }
  calls_.erase(call.sessionId);  // `call` is gone from here on
}

// ---- facts ------------------------------------------------------------------------

Outputs Gateway::onLegFact(const LegFact& fact, TimePoint now) {
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
        const bool isCustomer = f.leg == call->customerLeg;
        if constexpr (std::is_same_v<F, LegRinging>) {
          // The customer already hears 180; an agent's ringing changes nothing.
        } else if constexpr (std::is_same_v<F, LegAnswered>) {
          if (!isCustomer && f.leg == call->offerLeg && !call->confirming) {
            const int confirm = directory_.calls.mobileConfirmSeconds;
            if (call->offerDevice == ServerType::staffPhoneSeat && confirm > 0) {
              // A mobile's voicemail answers too: wait for the agent's key
              // before the customer is put through (docs/CORE.md, "Calls").
              cancelTimer(call->ringTimer, out);
              call->confirming = true;
              call->confirmTimer = startTimer(now + std::chrono::seconds(confirm), out);
              callTimers_[call->confirmTimer] = call->sessionId;
            } else {
              answered(*call, f.leg, now, out);
            }
          }
        } else if constexpr (std::is_same_v<F, LegDigit>) {
          if (f.leg == call->offerLeg && call->confirming) {
            call->confirming = false;
            cancelTimer(call->confirmTimer, out);
            answered(*call, f.leg, now, out);
          } else if (call->phase == Call::Phase::bridged) {
            // flow as the SDK's asr event names directions: IN the customer's side.
            Event e = sessionEvent(event::dtmf, call->agentUserId,
                                   {{"sessionId", call->sessionId},
                                    {"digit", std::string(1, f.digit)},
                                    {"flow", isCustomer ? "IN" : "OUT"}});
            out.push(std::move(e));
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
  if (id == call.ringTimer) {
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
    out.push(RejectLeg{call.customerLeg, 480, "No Agent Available"});
    endCall(call, CloseBy::timer, state, now, out);
  } else if (id == call.retryTimer) {
    call.retryTimer = 0;  // the dispatch below may offer it again
  } else if (id == call.confirmTimer) {
    call.confirmTimer = 0;
    // Answered, but no key within the bound: a voicemail or a pocket. A missed
    // offer, as a ring timeout is; the CANCEL of an answered leg is its BYE.
    withdrawOffer(call, "missed", false, now, out,
                  sessionEvent(event::autoTransfer, call.offeredTo, {{"sessionId", sessionId}}));
  } else if (id == call.lifeTimer) {
    call.lifeTimer = 0;
    // calls.maxSessionSeconds: the sweeper of last resort for a call whose far
    // ends both went silent without a BYE, or that simply runs too long.
    if (call.phase == Call::Phase::bridged) {
      out.push(HangUpLeg{call.agentLeg});
      out.push(HangUpLeg{call.customerLeg});
      endCall(call, CloseBy::timer, EndState::ok, now, out, "maxSessionLifetime");
    } else {
      out.push(RejectLeg{call.customerLeg, 480, "No Agent Available"});
      endCall(call, CloseBy::timer, EndState::unconnected, now, out, "maxSessionLifetime");
    }
  }
  dispatch(now, out);
  return out;
}

// ---- Call.* -----------------------------------------------------------------------

Outcome Gateway::callEnd(const std::string& userId, const std::string& sessionId, TimePoint now) {
  auto it = calls_.find(sessionId);
  if (it == calls_.end() || (it->second.offeredTo != userId && it->second.agentUserId != userId))
    return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = it->second;
  if (call.offerLeg == 0 || call.offeredTo != userId)
    return Outcome::failure(errc::invalidTransition, "Call.end refuses a ringing offer; use Call.hungUp");
  Outcome o = Outcome::success({{"sessionId", sessionId}});
  withdrawOffer(call, "rejected", false, now, o.outputs);
  dispatch(now, o.outputs);
  return o;
}

Outcome Gateway::callHungUp(const std::string& userId, const std::string& sessionId, TimePoint now) {
  auto it = calls_.find(sessionId);
  if (it == calls_.end() || (it->second.offeredTo != userId && it->second.agentUserId != userId))
    return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = it->second;
  if (call.phase != Call::Phase::bridged) return callEnd(userId, sessionId, now);
  Outcome o = Outcome::success({{"sessionId", sessionId}});
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
    } else {
      // RFC 3261 §21.5.4: the service is going away; the PBX may try elsewhere.
      out.push(RejectLeg{call.customerLeg, 503, "Service Unavailable"});
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
