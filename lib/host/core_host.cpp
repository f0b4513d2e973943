#include "host/core_host.hpp"

#include "control/subscription.hpp"
#include "host/host_events.hpp"

#include <sofia-sip/su_wait.h>

#include <cerrno>
#include <cstdlib>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "control/control_server.hpp"
#include "control/control_thread.hpp"
#include "control/errors.hpp"
#include "control/event_outlet.hpp"
#include "metrics/metrics.hpp"
#include "sip/call_legs.hpp"
#include "sip/sip_server.hpp"
#include "sip/sip_thread.hpp"
#include "sip/trunk_monitor.hpp"
#include "sip/sofia.hpp"
#include "store/record_writer.hpp"
#include "store/records.hpp"

namespace sb::host {

void SystemRandom::fill(std::span<std::byte> out) { randomBytes(out); }

struct CoreHost::TimerSlot {
  CoreHost* bridge;
  core::TimerId id;
  sip::TimerPtr timer;
};

namespace {

void timerFired(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  auto* slot = static_cast<CoreHost::TimerSlot*>(arg);
  try {
    slot->bridge->onTimerFired(slot->id);  // may destroy the slot
  } catch (const std::exception& e) {
    SB_ERROR("sip", "timer failed: %s", e.what());
  }
}

}  // namespace

void gaugeTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  try {
    static_cast<CoreHost*>(arg)->onGaugeTick();
  } catch (const std::exception& e) {
    SB_ERROR("sip", "gauge refresh failed: %s", e.what());
  }
}

void CoreHost::onGaugeTick() { refreshCallGauges(now()); }

CoreHost::CoreHost(const config::Config& config, sip::SipThread& sip, control::ControlThread& controlThread,
                   control::ControlServer& server, control::EventOutlet& outlet, metrics::Metrics& metrics,
                   store::Store* store)
    : sip_(sip),
      controlThread_(controlThread),
      server_(server),
      outlet_(outlet),
      metrics_(metrics),
      gateway_(
          std::make_unique<core::Gateway>(core::Directory::fromConfig(config), random_, monotonicNow(), wallClockMs())),
      store_(store) {
  if (store_) {
    records_ = std::make_unique<store::RecordWriter>(store::RecordWriter::Options{
        .path = config.storage.path,
        .retentionDays = config.storage.recordsRetentionDays,
        .wallClockMs = [] { return wallClockMs(); },
        .onWriteFailure = [&metrics] { metrics.storeWriteFailures.Increment(); }});
  }
  refreshAgentGauges();
  initTrunkGauges(config);
  initServiceLevels(config);
}

// A pinged trunk is down until it first answers; one never pinged counts as up.
void CoreHost::initTrunkGauges(const config::Config& config) {
  for (const auto& t : config.trunks)
    if (t.pingSeconds <= 0) metrics_.trunkUp(t.name).Set(1);
}

// Every configured skill group is on the service-level series from the start
// (its target, 0 answered in target, an empty wait histogram for each outcome),
// so a dashboard's rate() sees a group's first call as an increase from 0
// rather than as a series that appeared.
void CoreHost::initServiceLevels(const config::Config& config) {
  std::map<std::string, int> next;
  for (const auto& g : config.skillGroups) {
    next[g.id] = g.serviceLevelSeconds;
    metrics_.serviceLevelTarget(g.id).Set(g.serviceLevelSeconds);
    metrics_.answeredInTarget(g.id);
    for (const char* outcome : {"answered", "abandoned", "timeout"}) metrics_.sessionWaitSeconds(g.id, outcome);
  }
  for (const auto& [id, target] : serviceLevels_)
    if (!next.count(id)) metrics_.removeServiceLevelTarget(id);
  serviceLevels_ = std::move(next);
}

CoreHost::~CoreHost() = default;

void CoreHost::run(const control::Reply& reply, Step step, Then then) {
  const bool posted = sip_.post([this, reply, step = std::move(step), then = std::move(then)]() mutable {
    const core::TimePoint now = this->now();
    core::Outcome outcome = step(*gateway_, now);
    perform(std::move(outcome.outputs), now);  // events first: they reach clients before the answer
    controlThread_.post([reply, result = std::move(outcome.result), then = std::move(then)]() mutable {
      if (result.error)
        reply.error(result.error->code, result.error->message);
      else if (then)
        then(std::move(result.data));
      else
        reply.success(std::move(result.data));
    });
  });
  if (!posted) reply.error(control::errc::shuttingDown, "the daemon is stopping");
}

core::TimePoint CoreHost::now() {
  const core::TimePoint t = monotonicNow();
  gateway_->syncWallClock(wallClockMs(), t);
  return t;
}

void CoreHost::attachCalls() {
  sip_.server().trunks().setSink([this](const std::string& trunk, bool up) {
    metrics_.trunkUp(trunk).Set(up ? 1 : 0);
    const core::TimePoint t = now();
    perform(gateway_->onTrunkState(trunk, up, t), t);
  });
  sip::CallLegs& legs = sip_.server().callLegs();
  legs.setHooks({.decide =
                     [this](const core::InboundCall& call) {
                       core::InboundDecision d = gateway_->onInboundCall(call, now());
                       for (const auto& r : d.outputs.only<core::RejectLeg>()) {
                         if (r.leg != d.leg) continue;
                         if (r.code == 404) metrics_.callsRefused("unknownNumber").Increment();
                         if (r.code == 486) metrics_.callsRefused("queueFull").Increment();
                       }
                       return d;
                     },
                 .perform = [this](core::Outputs&& out) { perform(std::move(out), monotonicNow()); },
                 .fact =
                     [this](const core::LegFact& fact) {
                       const core::TimePoint t = now();
                       perform(gateway_->onLegFact(fact, t), t);
                     }});
  // Every skill group's queue is on the gauges from the start (0 waiting),
  // and its oldest wait keeps counting between call events.
  refreshCallGauges(now());
  if (su_root_t* root = sip_.root(); root && !gaugeTimer_) {
    gaugeTimer_.reset(su_timer_create(su_root_task(root), 1000));
    if (gaugeTimer_) su_timer_set_for_ever(gaugeTimer_.get(), &gaugeTick, this);
  }
}

void CoreHost::endAllCalls() {
  const core::TimePoint t = now();
  perform(gateway_->endAllCalls("shutdown", t), t);
}

void CoreHost::onFact(const core::DeviceFact& fact) {
  const core::TimePoint now = this->now();
  core::Outputs out = std::visit([&](const auto& f) { return gateway_->onFact(f, now); }, fact);
  perform(std::move(out), now);
}

void CoreHost::reconfigure(const config::Config& config) {
  const core::TimePoint now = this->now();
  if (records_) records_->setRetentionDays(config.storage.recordsRetentionDays);
  initTrunkGauges(config);
  initServiceLevels(config);
  perform(gateway_->reconfigure(core::Directory::fromConfig(config), now), now);
  refreshAgentGauges();
}

// Carries out core's actions in their order. Leg actions form one batch of the
// call layer, so facts they cause reach core only after the whole list.
void CoreHost::perform(core::Outputs&& outputs, core::TimePoint now) {
  bool statusChanged = false, callsChanged = false;
  sip::CallLegs& legs = sip_.server().callLegs();
  legs.enter();
  for (auto& action : outputs.actions) {
    if (auto* e = std::get_if<core::Event>(&action)) {
      statusChanged = statusChanged || e->name == core::event::statusChanged;
      if (e->name == core::event::userAccessed) noteAnswerTarget(*e);
      if (e->name == core::event::sessionEnded) countEnded(*e);
      if (e->name == core::event::calloutRefused) metrics_.outboundRefused(e->data.value("reason", "")).Increment();
      callsChanged = callsChanged || e->name == core::event::sessionEnded || e->name == core::event::callIn ||
                     e->name == core::event::userAccessed;
      outlet_.publish(std::move(e->name), e->userId.value_or(std::string()), std::move(e->data));
    } else if (auto* r = std::get_if<core::UpdateRecord>(&action)) {
      if (const core::Session* s = gateway_->sessions().find(r->sessionId)) submitRecord(*s);
    } else if (auto* t = std::get_if<core::TimerAction>(&action)) {
      if (t->op == core::TimerAction::Op::start)
        startTimer(t->id, t->deadline, now);
      else
        cancelTimer(t->id);
    } else {
      callsChanged = true;
      legs.execute(action);
    }
  }
  legs.leave();
  if (statusChanged) refreshAgentGauges();
  if (callsChanged) refreshCallGauges(now);
}

// Session metrics at the end of a session, from its record.
void CoreHost::countEnded(const core::Event& e) {
  auto target = answerTargets_.extract(e.data.value("sessionId", ""));
  const core::Session* s = gateway_->sessions().find(e.data.value("sessionId", ""));
  if (!s || !s->end) return;
  submitRecord(*s);
  const std::string type(core::toString(s->spec.type));
  metrics_.sessionsTotal(type, std::string(core::toString(s->end->closeBy))).Increment();
  for (const auto& o : s->offers) metrics_.offers(o.outcome.empty() ? "withdrawn" : o.outcome).Increment();
  const int64_t end = s->endedAtMs.value_or(s->createdAtMs);
  const int64_t waitEnd = s->answeredAtMs.value_or(end);
  const char* outcome = s->answeredAtMs                            ? "answered"
                        : s->end->closeBy == core::CloseBy::client ? "abandoned"
                                                                   : "timeout";
  // A customer's wait in a queue: calls agents placed never queued.
  if (s->spec.direction == core::Direction::inbound) {
    const std::string& group = s->spec.skillGroupId;
    metrics_.sessionWaitSeconds(group, outcome).Observe(static_cast<double>(waitEnd - s->createdAtMs) / 1e3);
    // Counted with the wait (at the end), so answered-in-target never runs
    // ahead of the waits it is a share of.
    if (s->answeredAtMs) {
      const int seconds = !target.empty() && target.mapped().first == group ? target.mapped().second
                                                                             : serviceLevelSeconds(group);
      if (*s->answeredAtMs - s->createdAtMs <= int64_t{seconds} * 1000) metrics_.answeredInTarget(group).Increment();
    }
  }
  if (s->ringingAtMs) {
    metrics_.sessionSetupSeconds.Observe(static_cast<double>(*s->ringingAtMs - s->createdAtMs) / 1e3);
    metrics_.sessionRingSeconds.Observe(static_cast<double>(waitEnd - *s->ringingAtMs) / 1e3);
  }
  if (s->answeredAtMs) {
    metrics_.sessionAnswerSeconds.Observe(static_cast<double>(*s->answeredAtMs - s->createdAtMs) / 1e3);
    metrics_.sessionTalkSeconds.Observe(static_cast<double>(end - *s->answeredAtMs) / 1e3);
  }
}

// The first answer of a session fixes the target its wait is judged by.
void CoreHost::noteAnswerTarget(const core::Event& e) {
  const core::Session* s = gateway_->sessions().find(e.data.value("sessionId", ""));
  if (!s || s->spec.direction != core::Direction::inbound || answerTargets_.count(s->sessionId)) return;
  answerTargets_.emplace(s->sessionId, std::pair{s->spec.skillGroupId, serviceLevelSeconds(s->spec.skillGroupId)});
}

// A group no longer configured (removed by a reload while its call ran): the default target.
int CoreHost::serviceLevelSeconds(const std::string& group) const {
  auto it = serviceLevels_.find(group);
  return it != serviceLevels_.end() ? it->second : config::SkillGroup{}.serviceLevelSeconds;
}

// An ended session into the archive; written again when it changed after its
// end (core::UpdateRecord: the store replaces the row).
void CoreHost::submitRecord(const core::Session& s) {
  if (!records_ || !s.end) return;
  records_->submit({s.sessionId, s.endedAtMs.value_or(0), s.spec.userId, std::string(core::toString(s.end->endState)),
                    s.toJson().dump()});
}

// After every batch that touched a call: kept cheap (counters kept by core, the
// gauges looked up once), as it runs several times per call.
void CoreHost::refreshCallGauges(core::TimePoint now) {
  for (const auto& [type, n] : gateway_->liveSessionsByType()) {
    prometheus::Gauge*& g = sessionGauges_[type];
    if (!g) g = &metrics_.sessionsActive(std::string(core::toString(type)));
    g->Set(static_cast<double>(n));
  }
  const auto queues = gateway_->queueStats(now);
  for (const auto& [group, q] : queues) {
    QueueGauges& g = queueGauges_[group];
    if (!g.waiting) g = {&metrics_.queueWaiting(group), &metrics_.queueOldestWait(group)};
    g.waiting->Set(static_cast<double>(q.waiting));
    g.oldest->Set(static_cast<double>(q.oldestWait.count()) / 1e3);
  }
  for (auto& data : queueWatch_.changes(queues, now))
    outlet_.publish(std::string(event::queueChanged), {}, std::move(data), control::kQueuesTopic);
}

void CoreHost::startTimer(core::TimerId id, core::TimePoint deadline, core::TimePoint now) {
  su_root_t* root = sip_.root();
  su_timer_t* t = root ? su_timer_create(su_root_task(root), 0) : nullptr;
  if (!t) {
    SB_ERROR("sip", "cannot create a timer; firing it now");
    perform(gateway_->onTimer(id, now), now);
    return;
  }
  // Built in place: a temporary slot would have destroyed the timer on its way
  // (the slot owns it).
  auto slot = std::unique_ptr<TimerSlot>(new TimerSlot{this, id, sip::TimerPtr(t)});
  const int64_t ms = deadline.ms > now.ms ? deadline.ms - now.ms : 0;
  su_timer_set_interval(t, timerFired, slot.get(), static_cast<su_duration_t>(ms));
  timers_[id] = std::move(slot);
}

void CoreHost::cancelTimer(core::TimerId id) { timers_.erase(id); }

void CoreHost::onTimerFired(core::TimerId id) {
  timers_.erase(id);
  const core::TimePoint now = this->now();
  perform(gateway_->onTimer(id, now), now);
}

void CoreHost::stopOnSipThread() {
  timers_.clear();
  gaugeTimer_.reset();
  if (records_) records_->flush();  // the drain's sessionEnded records reach the disk before exit
}

core::Outcome CoreHost::listRecords(const store::RecordQuery& query) {
  if (!store_ || !records_) return core::Outcome::success({{"records", nlohmann::json::array()}});
  // A reader sees every session that has ended: the writer commits what it
  // holds first (an operator's query may wait for one batch; calls never do).
  records_->flush();
  store::RecordPage page = store::queryRecords(*store_, query);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& text : page.records) rows.push_back(nlohmann::json::parse(text, nullptr, false));
  nlohmann::json data{{"records", std::move(rows)}};
  if (!page.next.empty()) data["next"] = page.next;
  return core::Outcome::success(std::move(data));
}

void CoreHost::refreshAgentGauges() {
  for (const auto& [status, n] : gateway_->agentsByStatus()) {
    prometheus::Gauge*& g = agentGauges_[status];
    if (!g) g = &metrics_.agents(std::string(core::toString(status)));
    g->Set(static_cast<double>(n));
  }
}

}  // namespace sb::host
