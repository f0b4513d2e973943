#pragma once
// Every metric seatbridge exports, registered once at start-up. prometheus-cpp's
// counters and gauges are atomic, so the SIP and control threads update them
// directly; label lookups go through the small caches below.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace prometheus {
class Exposer;
}

namespace sb::metrics {

class Metrics {
  // Declared first: the reference members below are initialised from it.
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  explicit Metrics(const std::string& version);
  ~Metrics();

  // Starts serving /metrics on "HOST:PORT"; throws std::runtime_error when it cannot bind.
  void serve(const std::string& listen);
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // Every SIP message passes here, so the counter of each label set is looked up
  // in prometheus-cpp once and then kept (a label map built and hashed per message
  // was 3 % of the SIP thread under bench/register). `method` must come from a
  // bounded set: the SIP layer passes "other" for methods it does not know.
  prometheus::Counter& sipRequest(std::string_view method);
  prometheus::Counter& sipResponse(std::string_view method, int code);
  prometheus::Counter& controlRequest(const std::string& method, const std::string& status);
  prometheus::Gauge& agents(const std::string& status);
  prometheus::Gauge& sessionsActive(const std::string& type);
  prometheus::Counter& sessionsTotal(const std::string& type, const std::string& closeBy);
  prometheus::Counter& configReload(const std::string& result);
  prometheus::Counter& sipMalformed(const std::string& reason);
  // Calls refused at the door, by reason (unknownNumber, untrustedSource,
  // tooManyHops, draining, noSeatOnline, ...): a bounded set chosen by the SIP layer.
  prometheus::Counter& callsRefused(const std::string& reason);
  prometheus::Counter& outboundRefused(const std::string& reason);
  // Anchored media: RTP and RTCP packets the engine took in, by outcome:
  // relayed | dropped (not RTP, or nowhere to go) | stranger (from an address
  // the leg is not latched to: RTP bleed).
  prometheus::Counter& mediaPackets(const std::string& outcome);
  prometheus::Gauge& queueWaiting(const std::string& skillGroup);
  prometheus::Gauge& queueOldestWait(const std::string& skillGroup);
  // outcome: answered | abandoned | timeout
  prometheus::Histogram& sessionWaitSeconds(const std::string& skillGroup, const std::string& outcome);
  // Service level: waits answered within the skill group's serviceLevelSeconds,
  // and that target itself (every configured group, set at start and reload).
  prometheus::Counter& answeredInTarget(const std::string& skillGroup);
  prometheus::Gauge& serviceLevelTarget(const std::string& skillGroup);
  // A skill group removed by a reload: its target gauge goes (a stale target
  // would keep a group on the dashboard that no longer exists).
  void removeServiceLevelTarget(const std::string& skillGroup);
  // outcome: answered | missed | rejected | failed | withdrawn
  prometheus::Counter& offers(const std::string& outcome);
  // Call.accept's NOTIFY Event: talk, by the phone's answer: accepted (2xx) | refused
  prometheus::Counter& remoteAnswers(const std::string& outcome);
  prometheus::Gauge& trunkUp(const std::string& trunk);
  // RFC 4028 session refreshes on call legs, outcome: sent (ours, answered 2xx) |
  // received (the peer's) | failed (ours unanswered or refused: leg ended) |
  // expired (the peer's never came: BYE)
  prometheus::Counter& sessionRefreshes(const std::string& outcome);
  // 1 while seatbridge's REGISTER binding at the trunk holds (trunks[].register).
  prometheus::Gauge& trunkRegistered(const std::string& trunk);

  prometheus::Gauge& registeredContacts;
  prometheus::Counter& authFailures;
  prometheus::Gauge& bannedSources;
  prometheus::Counter& bannedRequests;
  prometheus::Gauge& controlClients;
  prometheus::Counter& controlEventsDropped;
  prometheus::Counter& storeWriteFailures;
  prometheus::Gauge& mediaStreams;     // legs with an anchored RTP endpoint open
  prometheus::Counter& mediaTimeouts;  // legs ended for sending no RTP for media.rtpTimeoutSeconds
  prometheus::Gauge& recordingsActive;     // sessions being recorded now (paused ones included)
  prometheus::Counter& recordingBytes;     // audio bytes written to recordings
  prometheus::Counter& recordingDrops;     // blocks of recorded audio lost to a slow or failed disk
  prometheus::Counter& recordingFailures;  // recordings that could not go on: a file, or a codec not decoded
  prometheus::Counter& mediaTranscoded;    // RTP packets relayed PCMU to PCMA or back
  prometheus::Counter& mediaInbandDigits;  // keys found as tones in a leg's audio
  prometheus::Gauge& sipLoopLag;  // seconds late the SIP thread ran the last heartbeat  // batches of records (or a prune) the store refused
  prometheus::Histogram& sessionSetupSeconds;
  prometheus::Histogram& sessionAnswerSeconds;
  prometheus::Histogram& sessionRingSeconds;
  prometheus::Histogram& sessionTalkSeconds;
  // Anchored media: each leg's call quality from RTCP, observed once, when
  // its endpoint closes (the leg's final QualityReport).
  prometheus::Histogram& callMos;
  prometheus::Histogram& callJitterSeconds;
  prometheus::Histogram& callLossRatio;

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Collectable> process_;
  // A request counter (no code) or a response counter, from the cache.
  prometheus::Counter& sipCounter(std::string_view method, std::optional<int> code);
  std::mutex sipCountersMutex_;
  std::unordered_map<std::string, prometheus::Counter*> sipCounters_;  // "METHOD" or "METHOD code"
  prometheus::Family<prometheus::Counter>* sipRequests_;
  prometheus::Family<prometheus::Counter>* sipResponses_;
  prometheus::Family<prometheus::Counter>* controlRequests_;
  prometheus::Family<prometheus::Gauge>* agents_;
  prometheus::Family<prometheus::Gauge>* sessionsActive_;
  prometheus::Family<prometheus::Counter>* sessionsTotal_;
  prometheus::Family<prometheus::Counter>* configReloads_;
  prometheus::Family<prometheus::Counter>* sipMalformed_;
  prometheus::Family<prometheus::Counter>* callsRefused_;
  prometheus::Family<prometheus::Counter>* outboundRefused_;
  prometheus::Family<prometheus::Counter>* mediaPackets_;
  prometheus::Family<prometheus::Gauge>* queueWaiting_;
  prometheus::Family<prometheus::Gauge>* queueOldestWait_;
  prometheus::Family<prometheus::Histogram>* sessionWait_;
  prometheus::Family<prometheus::Counter>* answeredInTarget_;
  prometheus::Family<prometheus::Gauge>* serviceLevelTarget_;
  prometheus::Family<prometheus::Counter>* offers_;
  prometheus::Family<prometheus::Counter>* remoteAnswers_;
  prometheus::Family<prometheus::Gauge>* trunkUp_;
  prometheus::Family<prometheus::Counter>* sessionRefreshes_;
  prometheus::Family<prometheus::Gauge>* trunkRegistered_;
};

}  // namespace sb::metrics
