// Inbound customer calls, up to the offer: arrival, queue per skill group,
// routing, offer to one agent at a time and its withdrawal (docs/CORE.md,
// "Calls"); gateway_calls_answer.cpp has the answer, the end, the SIP layer's
// facts and the Call.* methods. Every entry point returns one ordered list of
// actions; the SIP layer carries out leg actions in that order.
#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include "core/gateway.hpp"

namespace sb::core {
namespace {

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

// A timer of a call: onCallTimer finds the call by it.
TimerId Gateway::startCallTimer(const std::string& sessionId, TimePoint deadline, Outputs& out) {
  const TimerId id = startTimer(deadline, out);
  callTimers_[id] = sessionId;
  return id;
}

// calls.maxSessionSeconds from now (0: no bound), for every kind of call.
void Gateway::armLifeTimer(Call& call, TimePoint now, Outputs& out) {
  if (directory_.calls.maxSessionSeconds > 0)
    call.lifeTimer = startCallTimer(call.sessionId, now + std::chrono::seconds(directory_.calls.maxSessionSeconds), out);
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
  if (!in.extension.empty()) return onDeskPhoneCall(in, now);
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
  if (directory_.mediaAnchored && !group->queueMusic.empty()) {
    // Queue music as early media (RFC 3261 §13.3.1.1, RFC 3960 §2): a 183
    // with seatbridge's own answer, the music played into it until an agent
    // answers (answered() stops it) or the customer gives up.
    d.outputs.push(SendProvisional{d.leg, 183, 0, true});
    d.outputs.push(PlayToLeg{d.leg, true, group->queueMusic});
    call.queueMusic = true;
  } else {
    // RFC 3261 §21.1.2: the customer hears ringing while waiting for an agent.
    d.outputs.push(SendProvisional{d.leg, 180});
  }
  call.queueTimer = startCallTimer(call.sessionId, now + std::chrono::seconds(std::max(1, group->queueTimeout)), d.outputs);
  waiting_[group->id].push_back(call.sessionId);
  armLifeTimer(call, now, d.outputs);
  dispatch(now, d.outputs);
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
            call.retryTimer = startCallTimer(call.sessionId, *due, out);
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
  out.push(ringLeg(call.offerLeg, call.customerLeg, pick.target, call.sessionId, s->spec.callerPhoneNumber,
                   s->spec.calleePhoneNumber));
  out.push(phoneCallIn(call, *s, pick.userId, ringSeconds, pick.device));
  call.ringTimer = startCallTimer(call.sessionId, now + std::chrono::seconds(ringSeconds), out);
}

// callIn {type phone} for `userId`: the customer's call rings their `device`.
Event Gateway::phoneCallIn(const Call& call, const Session& s, const std::string& userId, int ringSeconds,
                           ServerType device) const {
  return sessionEvent(event::callIn, userId,
                      {{"sessionId", call.sessionId},
                       {"type", "phone"},
                       {"timeout", ringSeconds},
                       {"calleePhoneNumber", s.spec.calleePhoneNumber},
                       {"callerPhoneNumber", s.spec.callerPhoneNumber},
                       {"callerLocation", ""},
                       {"remark", s.spec.remark},
                       {"ivrPath", call.ivrPath},
                       {"protectedCallee", s.spec.calleePhoneNumber},
                       {"protectedCaller", s.spec.callerPhoneNumber},
                       {"serverType", toString(device)}});
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
  call.remoteAnswer = false;
  call.acceptAsked = false;
  call.acceptedBy.clear();
  if (!legGone) out.push(CancelLeg{call.offerLeg});
  legCalls_.erase(call.offerLeg);
  call.offerLeg = 0;
  const std::string userId = std::exchange(call.offeredTo, {});
  if (outcome != "withdrawn") call.declined[userId] = now;
  countMissed(userId, outcome, now, out);
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
void Gateway::countMissed(const std::string& userId, const std::string& outcome, TimePoint now, Outputs& out) {
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

}  // namespace sb::core
