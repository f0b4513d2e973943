#include "daemon/app.hpp"

#include <malloc.h>
#include <signal.h>
#include <time.h>

#include <algorithm>

#include <future>
#include <stdexcept>
#include <thread>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "control/control_server.hpp"
#include "control/control_thread.hpp"
#include "control/event_outlet.hpp"
#include "control/method_table.hpp"
#include "host/core_host.hpp"
#include "daemon/gateway_methods.hpp"
#include "daemon/notify.hpp"
#include "metrics/metrics.hpp"
#include "seatbridge/version.hpp"
#include "sip/sip_server.hpp"
#include "sip/sip_thread.hpp"
#include "sip/trunk_monitor.hpp"
#include "sip/trunk_registration.hpp"
#include "store/store.hpp"

namespace sb::daemon {
namespace {

sigset_t handledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void blockSignals() {
  const sigset_t set = handledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that vanishes mid-write is an error code, not a death
}

App::App(std::string configPath, config::Config config)
    : configPath_(std::move(configPath)), config_(std::make_shared<const config::Config>(std::move(config))) {}

App::~App() {
  // Normally drainAndStop() did this; after a failed start, stop the SIP thread
  // before the objects its queued work refers to go away.
  if (outlet_) outlet_->close();
  if (sip_ && bridge_) sip_->post([bridge = bridge_.get()] { bridge->stopOnSipThread(); });
  if (sip_) sip_->stop();
}

void App::start() {
  log::setLevel(*log::parseLevel(config_->log.level));
  metrics_ = std::make_unique<metrics::Metrics>(kVersion);
  store_ = store::Store::open(config_->storage.path);
  SB_INFO("main", "store %s at schema version %d", config_->storage.path.c_str(), store_->schemaVersion());
  sip_ = std::make_unique<sip::SipThread>(config_, *metrics_, store_.get());  // registrar bindings persist there
  sip_->start();
  controlThread_ = std::make_unique<control::ControlThread>();
  control_ = std::make_unique<control::ControlServer>(*controlThread_, config_->control, *metrics_);
  wireGateway();
  controlThread_->start([this] { control_->listen(); });
  metrics_->serve(config_->metrics.listen.str());
  SB_INFO("main", "metrics on http://%s/metrics", config_->metrics.listen.str().c_str());
}

void App::wireGateway() {
  const uint64_t seqBase = control::seqBaseFor(wallClockMs());
  control_->startAfter(seqBase);
  outlet_ = std::make_unique<control::EventOutlet>(*controlThread_, control_->limits().outletPending, seqBase + 1);
  outlet_->setSink([control = control_.get()](std::vector<control::PublishedEvent>& batch, control::LostRange lost) {
    control->publish(batch, lost);
  });
  bridge_ = std::make_unique<host::CoreHost>(*config_, *sip_, *controlThread_, *control_, *outlet_, *metrics_,
                                            store_.get());
  methods_ = std::make_unique<control::MethodTable>(buildMethodTable(bridge_.get()));
  control_->setMethods(methods_.get());
  sip::SipThread* sip = sip_.get();
  host::CoreHost* bridge = bridge_.get();
  control::EventOutlet* outlet = outlet_.get();
  metrics::Metrics* metrics = metrics_.get();
  sip_->post([sip, bridge, outlet, metrics] {
    sip->server().setDeviceFactSink([bridge](const core::DeviceFact& fact) { bridge->onFact(fact); });
    bridge->attachCalls();
    // Trunk registrations are facts of the wire that core does not act on: the
    // SIP layer's state goes straight to the gauge and the event.
    sip::TrunkRegistrations& registrations = sip->server().trunks().registrations();
    for (const auto& s : registrations.states()) metrics->trunkRegistered(s.trunk).Set(s.registered ? 1 : 0);
    registrations.setSink([outlet, metrics](const sip::TrunkRegistrationState& s) {
      metrics->trunkRegistered(s.trunk).Set(s.registered ? 1 : 0);
      outlet->publish(std::string(sip::event::trunkRegistrationChanged), {},
                      {{"trunk", s.trunk}, {"registered", s.registered}, {"code", s.code}});
    });
  });
}

int App::run() {
  notifyReady("serving");
  SB_INFO("main", "seatbridged %s ready", kVersion);
  const sigset_t set = handledSignals();
  watchdog_ = watchdogInterval();
  const auto& watchdog = watchdog_;
  // Once a second (or at half the watchdog interval, sd_watchdog_enabled(3),
  // when that is shorter): the loops' heartbeats and the lag gauge stay fresh
  // to the second, which the SeatbridgeWatchdogNear alert reads.
  const auto tick = watchdog ? std::min(std::chrono::milliseconds(1000),
                                        std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2))
                             : std::chrono::milliseconds(1000);
  while (true) {
    timespec timeout{static_cast<time_t>(tick.count() / 1000), static_cast<long>((tick.count() % 1000) * 1000000)};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGHUP) {
      reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      SB_INFO("main", "%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      drainAndStop();
      return 0;
    }
    pingWatchdog();
  }
}

void App::pingWatchdog() {
  // Only tell systemd we are alive when both loops answered their last heartbeat:
  // a wedged SIP thread must get the daemon restarted.
  const int64_t now = monotonicNow().ms;
  if (watchdog_) {
    const int64_t limit = std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog_).count();
    if (now - sip_->lastHeartbeatMs() < limit && now - controlThread_->lastHeartbeatMs() < limit)
      notifyWatchdog();
    else
      SB_ERROR("main", "an event loop stopped answering; withholding the watchdog ping");
  }
  sip::SipThread* sip = sip_.get();
  metrics::Metrics* metrics = metrics_.get();
  // A wedged SIP thread runs no heartbeat to report its lag: the gauge shows
  // how overdue the last one is instead, so it climbs towards the watchdog's
  // limit for Prometheus to see before systemd restarts the daemon.
  if (pendingSinceMs_ != 0 && sip_->lastHeartbeatMs() < pendingSinceMs_)
    metrics->sipLoopLag.Set(static_cast<double>(now - pendingSinceMs_) / 1e3);  // still waiting for that one
  else
    pendingSinceMs_ = now;  // the one posted below is the one to wait for
  sip_->post([this, sip, metrics, posted = now] {
    sip->heartbeat();
    const int64_t lag = monotonicNow().ms - posted;
    sipLagMs_.store(lag, std::memory_order_relaxed);
    metrics->sipLoopLag.Set(static_cast<double>(lag) / 1e3);
  });
  control::ControlThread* ct = controlThread_.get();
  controlThread_->post([ct] { ct->heartbeat(); });
  housekeeping(now);
}

void App::housekeeping(int64_t nowMs) {
  // An overloaded SIP thread delays every call and registration; say so (once
  // every 30 s at most) rather than let it show only as callers' timeouts.
  const int64_t lag = sipLagMs_.load(std::memory_order_relaxed);
  if (lag > 250 && nowMs - lastLagWarningMs_ >= 30'000) {
    SB_WARN("main",
            "the SIP thread ran its heartbeat %lld ms late: it is overloaded, calls and registrations are delayed "
            "(see trunks' maxCallsPerSecond in docs/CONFIG.md)",
            static_cast<long long>(lag));
    lastLagWarningMs_ = nowMs;
  }
  // glibc keeps freed pages in its arenas until asked; after a burst of calls
  // the daemon would otherwise hold its peak heap for ever (bench/calls). Once a
  // minute is cheap: the trim walks free chunks only.
  if (nowMs - lastTrimMs_ >= 60'000) {
    malloc_trim(0);
    lastTrimMs_ = nowMs;
  }
}

void App::reload() {
  notifyReloading();
  SB_INFO("main", "SIGHUP: reloading %s", configPath_.c_str());
  config::LoadResult loaded = config::loadFile(configPath_);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) SB_ERROR("config", "%s", e.str().c_str());
    SB_ERROR("main", "reload refused: %zu error(s); the running configuration stays in force", loaded.errors.size());
    metrics_->configReload("error").Increment();
    notifyReady("serving (last reload refused)");
    return;
  }
  auto next = std::make_shared<const config::Config>(std::move(*loaded.config));
  for (const auto& key : config::restartOnlyDifferences(*config_, *next))
    SB_WARN("main", "reload: %s changed, but takes effect only after a restart", key.c_str());
  log::setLevel(*log::parseLevel(next->log.level));
  config_ = next;
  sip::SipThread* sip = sip_.get();
  host::CoreHost* bridge = bridge_.get();
  sip_->post([sip, bridge, next] {
    sip->server().applyConfig(next);
    bridge->reconfigure(*next);
  });
  metrics_->configReload("ok").Increment();
  SB_INFO("main", "configuration reloaded");
  notifyReady("serving");
}

void App::drainAndStop() {
  notifyStopping();
  sip::SipThread* sip = sip_.get();
  sip_->post([sip] {
    sip->server().startDraining();
    // The trunks stop sending calls we would refuse (RFC 3261 §10.2.2, Expires 0).
    sip->server().trunks().registrations().unregisterAll();
  });
  // Live calls may finish within shutdown.drainSeconds; a second signal cuts it short.
  const int64_t deadline = monotonicNow().ms + config_->shutdown.drainSeconds * 1000LL;
  const sigset_t set = handledSignals();
  // The SIP thread's count of live call legs; 0 too when it no longer answers.
  const auto liveLegs = [this, sip] {
    std::promise<size_t> legs;
    auto answer = legs.get_future();
    if (!sip_->post([sip, &legs] { legs.set_value(sip->server().activeCalls()); })) return size_t{0};
    return answer.get();
  };
  while (monotonicNow().ms < deadline) {
    if (liveLegs() == 0) break;
    timespec pause{0, 200 * 1000000L};
    const int sig = sigtimedwait(&set, nullptr, &pause);
    if (sig == SIGTERM || sig == SIGINT) {
      SB_WARN("main", "second stop signal: ending live calls now");
      break;
    }
    pingWatchdog();
  }
  // Whatever still runs is ended cleanly: BYE on both legs of a bridged call,
  // 503 to a waiting one, sessionEnded and the record for each. Then a short
  // grace for those requests to go out and be answered.
  host::CoreHost* bridge = bridge_.get();
  sip_->post([bridge] { bridge->endAllCalls(); });
  const int64_t grace = monotonicNow().ms + 2000;
  // Likewise the unREGISTERs' answers (best effort: a binding left behind
  // lapses at the trunk by itself).
  const auto unregistering = [this, sip] {
    std::promise<size_t> count;
    auto answer = count.get_future();
    if (!sip_->post([sip, &count] { count.set_value(sip->server().trunks().registrations().unregistering()); }))
      return size_t{0};
    return answer.get();
  };
  while (monotonicNow().ms < grace && (liveLegs() > 0 || unregistering() > 0)) {
    timespec pause{0, 50 * 1000000L};
    nanosleep(&pause, nullptr);
  }
  control::ControlServer* control = control_.get();
  controlThread_->stop([control] { control->close(); });
  outlet_->close();
  control_.reset();
  sip_->post([bridge = bridge_.get()] { bridge->stopOnSipThread(); });
  sip_->stop();
  SB_INFO("main", "stopped");
}

}  // namespace sb::daemon
