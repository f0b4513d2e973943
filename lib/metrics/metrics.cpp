#include "metrics/metrics.hpp"

#include <prometheus/exposer.h>

#include <stdexcept>

#include "metrics/process_collector.hpp"

namespace sb::metrics {
namespace {

template <typename T>
prometheus::Family<T>& family(prometheus::Registry& r, const char* name, const char* help) {
  if constexpr (std::is_same_v<T, prometheus::Counter>)
    return prometheus::BuildCounter().Name(name).Help(help).Register(r);
  else
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

// Answer-time buckets in seconds, from sub-second SIP setup to long rings.
const prometheus::Histogram::BucketBoundaries kSetupBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
const prometheus::Histogram::BucketBoundaries kAnswerBuckets = {1, 2, 5, 10, 15, 20, 30, 45, 60, 120, 300};
const prometheus::Histogram::BucketBoundaries kTalkBuckets = {10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200};
// Call quality per leg: MOS bands around the usual judgements (4.3 and up:
// very satisfied, 4.0 satisfied, 3.6 some dissatisfied, 3.1 many, below
// 2.6 nearly all; G.107 Annex B), jitter and loss from a LAN's nothing to
// a broken path.
const prometheus::Histogram::BucketBoundaries kMosBuckets = {1.5, 2, 2.6, 3.1, 3.6, 4, 4.2, 4.3, 4.4};
const prometheus::Histogram::BucketBoundaries kJitterBuckets = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1};
const prometheus::Histogram::BucketBoundaries kLossBuckets = {0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2};

std::shared_ptr<prometheus::Registry> makeRegistry() { return std::make_shared<prometheus::Registry>(); }

}  // namespace

Metrics::Metrics(const std::string& version)
    : registry_(makeRegistry()),
      registeredContacts(family<prometheus::Gauge>(*registry_, "seatbridge_registered_contacts",
                                                   "Desk-phone contacts currently bound by the registrar")
                             .Add({})),
      authFailures(family<prometheus::Counter>(*registry_, "seatbridge_auth_failures_total",
                                               "Digest authentication failures (wrong credentials or unknown user)")
                       .Add({})),
      bannedSources(
          family<prometheus::Gauge>(*registry_, "seatbridge_banned_sources", "Source addresses banned right now")
              .Add({})),
      bannedRequests(family<prometheus::Counter>(*registry_, "seatbridge_banned_requests_total",
                                                 "Requests dropped because their source is banned")
                         .Add({})),
      controlClients(
          family<prometheus::Gauge>(*registry_, "seatbridge_control_clients", "Connected control-socket clients")
              .Add({})),
      controlEventsDropped(family<prometheus::Counter>(*registry_, "seatbridge_control_events_dropped_total",
                                                       "Events a slow control client lost to its full queue")
                               .Add({})),
      storeWriteFailures(family<prometheus::Counter>(*registry_, "seatbridge_store_write_failures_total",
                                                     "Batches of session records (or a prune) the store failed to write")
                             .Add({})),
      mediaStreams(family<prometheus::Gauge>(*registry_, "seatbridge_media_streams",
                                             "Call legs whose audio seatbridge anchors (an RTP endpoint open)")
                       .Add({})),
      mediaTimeouts(family<prometheus::Counter>(*registry_, "seatbridge_media_timeouts_total",
                                                "Legs that sent no RTP for media.rtpTimeoutSeconds while they should "
                                                "have: their calls were ended")
                        .Add({})),
      recordingsActive(family<prometheus::Gauge>(*registry_, "seatbridge_recordings_active",
                                                 "Sessions being recorded now (paused ones included)")
                           .Add({})),
      recordingBytes(family<prometheus::Counter>(*registry_, "seatbridge_recording_bytes_total",
                                                 "Audio bytes written to recordings' WAV files")
                         .Add({})),
      recordingDrops(family<prometheus::Counter>(*registry_, "seatbridge_recording_dropped_blocks_total",
                                                 "One-second blocks of recorded audio lost: the disk was too slow "
                                                 "or the recording's file had failed")
                         .Add({})),
      recordingFailures(family<prometheus::Counter>(*registry_, "seatbridge_recording_failures_total",
                                                    "Recordings that could not go on: their file could not be opened "
                                                    "or written (a full disk), or a codec seatbridge does not decode")
                            .Add({})),
      mediaTranscoded(family<prometheus::Counter>(*registry_, "seatbridge_media_transcoded_packets_total",
                                                  "RTP packets relayed from one G.711 law to the other (PCMU on one "
                                                  "leg, PCMA on the other)")
                          .Add({})),
      mediaInbandDigits(family<prometheus::Counter>(*registry_, "seatbridge_media_inband_digits_total",
                                                    "Keys found as DTMF tones in the audio of legs that negotiated no "
                                                    "telephone-event (RFC 4733)")
                            .Add({})),
      sipLoopLag(family<prometheus::Gauge>(*registry_, "seatbridge_sip_loop_lag_seconds",
                                           "How late the SIP thread ran the last heartbeat posted to it (once a second)")
                     .Add({})),
      sessionSetupSeconds(prometheus::BuildHistogram()
                              .Name("seatbridge_session_setup_seconds")
                              .Help("From a session's first INVITE to the first ringing of an agent's device")
                              .Register(*registry_)
                              .Add({}, kSetupBuckets)),
      sessionAnswerSeconds(prometheus::BuildHistogram()
                               .Name("seatbridge_session_answer_seconds")
                               .Help("From a session's start to its answer by an agent or a customer")
                               .Register(*registry_)
                               .Add({}, kAnswerBuckets)),
      sessionRingSeconds(prometheus::BuildHistogram()
                             .Name("seatbridge_session_ring_seconds")
                             .Help("How long a session rang agents before it was answered or ended")
                             .Register(*registry_)
                             .Add({}, kAnswerBuckets)),
      sessionTalkSeconds(prometheus::BuildHistogram()
                             .Name("seatbridge_session_talk_seconds")
                             .Help("From the answer to the end of a session")
                             .Register(*registry_)
                             .Add({}, kTalkBuckets)),
      callMos(prometheus::BuildHistogram()
                  .Name("seatbridge_call_mos")
                  .Help("Estimated MOS (simplified E-model, G.711) of each anchored call leg, when it ends")
                  .Register(*registry_)
                  .Add({}, kMosBuckets)),
      callJitterSeconds(prometheus::BuildHistogram()
                            .Name("seatbridge_call_jitter_seconds")
                            .Help("Interarrival jitter (RFC 3550) of each anchored call leg, the worse direction, "
                                  "when it ends")
                            .Register(*registry_)
                            .Add({}, kJitterBuckets)),
      callLossRatio(prometheus::BuildHistogram()
                        .Name("seatbridge_call_loss_ratio")
                        .Help("Share of RTP packets lost on each anchored call leg, the worse direction, when it ends")
                        .Register(*registry_)
                        .Add({}, kLossBuckets)) {
  auto& r = *registry_;
  family<prometheus::Gauge>(r, "seatbridge_build_info", "Build information; the value is always 1")
      .Add({{"version", version}})
      .Set(1);
  sipRequests_ = &family<prometheus::Counter>(r, "seatbridge_sip_requests_total", "SIP requests received, by method");
  sipResponses_ = &family<prometheus::Counter>(r, "seatbridge_sip_responses_total",
                                               "SIP responses sent, by request method and status code");
  controlRequests_ = &family<prometheus::Counter>(r, "seatbridge_control_requests_total",
                                                  "Control-socket requests, by method and outcome");
  agents_ = &family<prometheus::Gauge>(r, "seatbridge_agents", "Agents by status");
  sessionsActive_ = &family<prometheus::Gauge>(r, "seatbridge_sessions_active", "Live sessions by type");
  sessionsTotal_ = &family<prometheus::Counter>(r, "seatbridge_sessions_total", "Ended sessions by type and closeBy");
  configReloads_ = &family<prometheus::Counter>(r, "seatbridge_config_reloads_total",
                                                "Configuration reloads (SIGHUP) by result: ok or error");
  sipMalformed_ =
      &family<prometheus::Counter>(r, "seatbridge_sip_malformed_total", "SIP messages rejected as malformed, by reason");
  callsRefused_ = &family<prometheus::Counter>(r, "seatbridge_calls_refused_total",
                                               "INVITEs refused before a session began, by reason");
  mediaPackets_ = &family<prometheus::Counter>(r, "seatbridge_media_packets_total",
                                               "RTP and RTCP packets the media engine took in, by outcome");
  outboundRefused_ = &family<prometheus::Counter>(
      r, "seatbridge_outbound_refused_total",
      "Calls agents placed that the dial plan or a limit refused (calloutRefused), by reason");
  queueWaiting_ = &family<prometheus::Gauge>(r, "seatbridge_queue_waiting",
                                             "Customers waiting for an agent (ringing one included), by skill group");
  queueOldestWait_ = &family<prometheus::Gauge>(r, "seatbridge_queue_oldest_wait_seconds",
                                                "How long the longest-waiting customer has waited, by skill group");
  sessionWait_ = &prometheus::BuildHistogram()
                      .Name("seatbridge_session_wait_seconds")
                      .Help("How long customers waited for an agent, by skill group and outcome")
                      .Register(r);
  answeredInTarget_ = &family<prometheus::Counter>(
      r, "seatbridge_session_answered_in_target_total",
      "Customers answered within their skill group's service-level target (serviceLevelSeconds)");
  serviceLevelTarget_ = &family<prometheus::Gauge>(r, "seatbridge_service_level_target_seconds",
                                                   "The skill group's service-level target (serviceLevelSeconds)");
  offers_ = &family<prometheus::Counter>(r, "seatbridge_offers_total", "Offers of a session to an agent, by outcome");
  for (const char* o : {"answered", "missed", "rejected", "failed", "withdrawn"}) offers(o);
  remoteAnswers_ = &family<prometheus::Counter>(
      r, "seatbridge_remote_answers_total",
      "Call.accept's requests to a desk phone to answer (NOTIFY Event: talk), by the phone's reply");
  for (const char* o : {"accepted", "refused"}) remoteAnswers(o);
  sessionRefreshes_ = &family<prometheus::Counter>(r, "seatbridge_session_refreshes_total",
                                                   "RFC 4028 session refreshes on call legs, by outcome");
  for (const char* o : {"sent", "received", "failed", "expired"}) sessionRefreshes(o);
  trunkUp_ = &family<prometheus::Gauge>(r, "seatbridge_trunk_up",
                                        "1 while the trunk answers its OPTIONS pings (or is not pinged), else 0");
  trunkRegistered_ = &family<prometheus::Gauge>(
      r, "seatbridge_trunk_registered", "1 while seatbridge's REGISTER binding at the trunk holds, else 0");
  for (const char* s : {"offline", "free", "busy", "arrange", "notReady", "rest"}) agents(s);
  for (const char* t : {"phone", "internal"}) sessionsActive(t);
  configReload("ok");
  configReload("error");
}

Metrics::~Metrics() = default;

void Metrics::serve(const std::string& listen) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    throw std::runtime_error("metrics.listen " + listen + ": cannot listen: " + e.what());
  }
  exposer_->RegisterCollectable(registry_);
  // The exposer keeps only weak references: the collectors live in this object.
  process_ = std::make_shared<ProcessCollector>();
  exposer_->RegisterCollectable(process_);
}

prometheus::Counter& Metrics::sipCounter(std::string_view method, std::optional<int> code) {
  // "METHOD" or "METHOD code": short enough for the small-string buffer, so a hit
  // allocates nothing; the label map is built only the first time.
  std::string key(method);
  if (code) key += ' ' + std::to_string(*code);
  std::lock_guard lock(sipCountersMutex_);
  auto it = sipCounters_.find(key);
  if (it == sipCounters_.end()) {
    prometheus::Counter& c = code ? sipResponses_->Add({{"method", std::string(method)}, {"code", std::to_string(*code)}})
                                  : sipRequests_->Add({{"method", std::string(method)}});
    it = sipCounters_.emplace(std::move(key), &c).first;
  }
  return *it->second;
}

prometheus::Counter& Metrics::sipRequest(std::string_view method) { return sipCounter(method, std::nullopt); }
prometheus::Counter& Metrics::sipResponse(std::string_view method, int code) { return sipCounter(method, code); }
prometheus::Counter& Metrics::controlRequest(const std::string& method, const std::string& status) {
  return controlRequests_->Add({{"method", method}, {"status", status}});
}
prometheus::Gauge& Metrics::agents(const std::string& status) { return agents_->Add({{"status", status}}); }
prometheus::Gauge& Metrics::sessionsActive(const std::string& type) { return sessionsActive_->Add({{"type", type}}); }
prometheus::Counter& Metrics::sessionsTotal(const std::string& type, const std::string& closeBy) {
  return sessionsTotal_->Add({{"type", type}, {"closeBy", closeBy}});
}
prometheus::Counter& Metrics::configReload(const std::string& result) { return configReloads_->Add({{"result", result}}); }
prometheus::Counter& Metrics::sipMalformed(const std::string& reason) { return sipMalformed_->Add({{"reason", reason}}); }
prometheus::Counter& Metrics::callsRefused(const std::string& reason) { return callsRefused_->Add({{"reason", reason}}); }
prometheus::Counter& Metrics::mediaPackets(const std::string& outcome) {
  return mediaPackets_->Add({{"outcome", outcome}});
}

prometheus::Counter& Metrics::outboundRefused(const std::string& reason) {
  return outboundRefused_->Add({{"reason", reason}});
}
prometheus::Gauge& Metrics::queueWaiting(const std::string& g) { return queueWaiting_->Add({{"skillGroup", g}}); }
prometheus::Gauge& Metrics::queueOldestWait(const std::string& g) { return queueOldestWait_->Add({{"skillGroup", g}}); }
prometheus::Histogram& Metrics::sessionWaitSeconds(const std::string& g, const std::string& outcome) {
  return sessionWait_->Add({{"skillGroup", g}, {"outcome", outcome}}, kAnswerBuckets);
}
prometheus::Counter& Metrics::answeredInTarget(const std::string& g) {
  return answeredInTarget_->Add({{"skillGroup", g}});
}
prometheus::Gauge& Metrics::serviceLevelTarget(const std::string& g) {
  return serviceLevelTarget_->Add({{"skillGroup", g}});
}
void Metrics::removeServiceLevelTarget(const std::string& g) {
  serviceLevelTarget_->Remove(&serviceLevelTarget_->Add({{"skillGroup", g}}));
}
prometheus::Counter& Metrics::offers(const std::string& outcome) { return offers_->Add({{"outcome", outcome}}); }
prometheus::Counter& Metrics::remoteAnswers(const std::string& outcome) {
  return remoteAnswers_->Add({{"outcome", outcome}});
}
prometheus::Counter& Metrics::sessionRefreshes(const std::string& outcome) {
  return sessionRefreshes_->Add({{"outcome", outcome}});
}
prometheus::Gauge& Metrics::trunkUp(const std::string& trunk) { return trunkUp_->Add({{"trunk", trunk}}); }
prometheus::Gauge& Metrics::trunkRegistered(const std::string& trunk) {
  return trunkRegistered_->Add({{"trunk", trunk}});
}

}  // namespace sb::metrics
