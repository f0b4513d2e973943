#include "daemon/gateway_bridge.hpp"

#include <sofia-sip/su_wait.h>
#include <sys/random.h>

#include <cerrno>
#include <cstdlib>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "control/control_server.hpp"
#include "control/control_thread.hpp"
#include "control/errors.hpp"
#include "control/event_outlet.hpp"
#include "metrics/metrics.hpp"
#include "sip/sip_thread.hpp"

namespace sb::daemon {

void SystemRandom::fill(std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      SB_ERROR("main", "getrandom failed: no safe session ids, aborting");
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
}

struct GatewayBridge::TimerSlot {
  GatewayBridge* bridge;
  core::TimerId id;
  su_timer_t* timer;
  ~TimerSlot() { su_timer_destroy(timer); }
};

namespace {

void timerFired(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  auto* slot = static_cast<GatewayBridge::TimerSlot*>(arg);
  try {
    slot->bridge->onTimerFired(slot->id);  // may destroy the slot
  } catch (const std::exception& e) {
    SB_ERROR("sip", "timer failed: %s", e.what());
  }
}

}  // namespace

GatewayBridge::GatewayBridge(const config::Config& config, sip::SipThread& sip, control::ControlThread& controlThread,
                             control::ControlServer& server, control::EventOutlet& outlet, metrics::Metrics& metrics)
    : sip_(sip),
      controlThread_(controlThread),
      server_(server),
      outlet_(outlet),
      metrics_(metrics),
      gateway_(std::make_unique<core::Gateway>(core::Directory::fromConfig(config), random_, monotonicNow())) {
  refreshAgentGauges();
}

GatewayBridge::~GatewayBridge() = default;

void GatewayBridge::run(const control::Reply& reply, Step step, Then then) {
  const bool posted = sip_.post([this, reply, step = std::move(step), then = std::move(then)]() mutable {
    const core::TimePoint now = monotonicNow();
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

void GatewayBridge::onFact(const core::DeviceFact& fact) {
  const core::TimePoint now = monotonicNow();
  core::Outputs out = std::visit([&](const auto& f) { return gateway_->onFact(f, now); }, fact);
  perform(std::move(out), now);
}

void GatewayBridge::reconfigure(const config::Config& config) {
  const core::TimePoint now = monotonicNow();
  perform(gateway_->reconfigure(core::Directory::fromConfig(config), now), now);
  refreshAgentGauges();
}

void GatewayBridge::perform(core::Outputs&& outputs, core::TimePoint now) {
  bool statusChanged = false;
  for (auto& e : outputs.events) {
    statusChanged = statusChanged || e.name == core::event::statusChanged;
    outlet_.publish(std::move(e.name), e.userId.value_or(std::string()), std::move(e.data));
  }
  for (const auto& t : outputs.timers) {
    if (t.op == core::TimerAction::Op::start)
      startTimer(t.id, t.deadline, now);
    else
      cancelTimer(t.id);
  }
  if (statusChanged) refreshAgentGauges();
}

void GatewayBridge::startTimer(core::TimerId id, core::TimePoint deadline, core::TimePoint now) {
  su_root_t* root = sip_.root();
  su_timer_t* t = root ? su_timer_create(su_root_task(root), 0) : nullptr;
  if (!t) {
    SB_ERROR("sip", "cannot create a timer; firing it now");
    perform(gateway_->onTimer(id, now), now);
    return;
  }
  auto slot = std::make_unique<TimerSlot>(TimerSlot{this, id, t});
  const int64_t ms = deadline.ms > now.ms ? deadline.ms - now.ms : 0;
  su_timer_set_interval(t, timerFired, slot.get(), static_cast<su_duration_t>(ms));
  timers_[id] = std::move(slot);
}

void GatewayBridge::cancelTimer(core::TimerId id) { timers_.erase(id); }

void GatewayBridge::onTimerFired(core::TimerId id) {
  timers_.erase(id);
  const core::TimePoint now = monotonicNow();
  perform(gateway_->onTimer(id, now), now);
}

void GatewayBridge::stopOnSipThread() { timers_.clear(); }

void GatewayBridge::refreshAgentGauges() {
  const core::Counts counts = gateway_->counts();
  for (const auto& [status, n] : counts.agentsByStatus)
    metrics_.agents(std::string(core::toString(status))).Set(static_cast<double>(n));
}

}  // namespace sb::daemon
