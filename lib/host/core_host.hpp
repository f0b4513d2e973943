#pragma once
// CoreHost: core's I/O layer (issue 8 moved it out of daemon/ and renamed it from
// GatewayBridge, which read as if it bridged calls). It hosts the domain model (core::Gateway) on the SIP thread and
// connects it to the control socket: method calls arrive from the control thread, run on the SIP thread against the
// Gateway with `now`, and are answered back on the control thread; the Gateway's events leave through the EventOutlet
// (never blocking the SIP thread); its timers become Sofia timers; registrar facts feed it.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/device_facts.hpp"
#include "core/gateway.hpp"
#include "core/outputs.hpp"
#include "core/random_source.hpp"
#include "host/queue_watch.hpp"
#include "sip/sofia.hpp"

namespace sb::metrics {
class Metrics;
}
namespace sb::sip {
class SipThread;
}
namespace prometheus {
class Gauge;
}
namespace sb::store {
class Store;
class RecordWriter;
struct RecordQuery;
struct SessionRecord;
}  // namespace sb::store
namespace sb::control {
class ControlThread;
class ControlServer;
class EventOutlet;
class Reply;
}  // namespace sb::control

namespace sb::host {

// Session ids are capabilities on the control socket: sb::randomBytes
// (getrandom(2), aborting rather than ever handing out weak bytes).
class SystemRandom final : public core::RandomSource {
 public:
  void fill(std::span<std::byte> out) override;
};

class CoreHost {
 public:
  struct TimerSlot;
  // A step on the SIP thread: the Gateway and `now` in, a method's Outcome out.
  using Step = std::function<core::Outcome(core::Gateway&, core::TimePoint now)>;
  // Runs on the control thread with a successful step's data (instead of replying).
  using Then = std::function<void(nlohmann::json data)>;

  // `store` (may be null: no records kept) is read on the SIP thread only;
  // records are written through a store::RecordWriter of the host's own.
  CoreHost(const config::Config& config, sip::SipThread& sip, control::ControlThread& controlThread,
           control::ControlServer& server, control::EventOutlet& outlet, metrics::Metrics& metrics,
           store::Store* store = nullptr);
  ~CoreHost();
  CoreHost(const CoreHost&) = delete;
  CoreHost& operator=(const CoreHost&) = delete;

  // Control thread. Runs `step` on the SIP thread, performs its outputs there,
  // and answers `reply` on the control thread: the error, or `then(data)` when
  // given, else success(data). Events the step caused reach clients before the answer.
  void run(const control::Reply& reply, Step step, Then then = {});

  // SIP thread: a registrar fact (the registrar's fact sink).
  void onFact(const core::DeviceFact& fact);
  // SIP thread: a reloaded configuration (agents, extensions, skill groups).
  void reconfigure(const config::Config& config);
  // SIP thread, before the loop stops: cancels the Sofia timers.
  void stopOnSipThread();
  // SIP thread: a timer the Gateway asked for fired.
  void onTimerFired(core::TimerId id);
  // SIP thread: plugs core into the B2BUA's legs (sip::CallLegs hooks).
  void attachCalls();
  // SIP thread: the drain deadline passed; every live call is ended (BYE both legs).
  void endAllCalls();
  // SIP thread: ended sessions from the store, newest first (Gateway.listRecords):
  // {records: [...], next?}. Records not yet written are written first.
  core::Outcome listRecords(const store::RecordQuery& query);

  control::ControlServer& server() { return server_; }
  control::ControlThread& controlThread() { return controlThread_; }
  sip::SipThread& sip() { return sip_; }

 private:
  // SIP thread: publish events, start and cancel timers, refresh gauges.
  void perform(core::Outputs&& outputs, core::TimePoint now);
  void startTimer(core::TimerId id, core::TimePoint deadline, core::TimePoint now);
  void cancelTimer(core::TimerId id);
  void refreshAgentGauges();
  void refreshCallGauges(core::TimePoint now);
  void countEnded(const core::Event& e);
  void noteAnswerTarget(const core::Event& e);
  int serviceLevelSeconds(const std::string& group) const;
  void submitRecord(const core::Session& s);

  void initTrunkGauges(const config::Config& config);
  void initServiceLevels(const config::Config& config);
  core::TimePoint now();  // monotonic now, and core's wall clock re-anchored

  sip::SipThread& sip_;
  control::ControlThread& controlThread_;
  control::ControlServer& server_;
  control::EventOutlet& outlet_;
  metrics::Metrics& metrics_;
  SystemRandom random_;
  std::unique_ptr<core::Gateway> gateway_;  // touched on the SIP thread only
  std::map<core::TimerId, std::unique_ptr<TimerSlot>> timers_;
  store::Store* store_;                          // the SIP thread's connection: reads
  std::unique_ptr<store::RecordWriter> records_;  // writes, on its own thread
  struct QueueGauges {
    prometheus::Gauge* waiting = nullptr;
    prometheus::Gauge* oldest = nullptr;
  };
  std::map<core::AgentStatus, prometheus::Gauge*> agentGauges_;
  std::map<core::SessionType, prometheus::Gauge*> sessionGauges_;
  std::map<std::string, QueueGauges> queueGauges_;
  QueueWatch queueWatch_;  // queueChanged events, from the same samples as the gauges
  // Each skill group's serviceLevelSeconds, as configured now (SIP thread).
  std::map<std::string, int> serviceLevels_;
  // The target in force when a session was answered, by session id, kept
  // until it ends: a reload while a call is live does not judge its wait
  // against a target that came after it (its skill group with it, in case
  // the session is counted under another after a transfer).
  std::map<std::string, std::pair<std::string, int>> answerTargets_;
  // Once a second on the SIP thread: a queue's oldest wait grows with no call
  // event to refresh it (attachCalls, the gauges' own clock).
  sip::TimerPtr gaugeTimer_;
  void onGaugeTick();
  friend void gaugeTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept;
};

}  // namespace sb::host
