#include "media/engine.hpp"

#include <event2/event.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <chrono>
#include <future>
#include <utility>

#include "common/c_callback.hpp"
#include "common/log.hpp"
#include "media/engine_parts.hpp"

namespace sb::media {
namespace {

// A muted leg's packet, made silent in place (RFC 3551 §4.5.14: G.711's
// silence is the code for zero: 0xFF in µ-law, 0xD5 in A-law); false when it
// cannot be and must be dropped instead. Telephone-events pass unchanged.
bool silence(uint8_t* data, const RtpHeader& h, int dtmfPt) {
  if (static_cast<int>(h.payloadType) == dtmfPt) return true;
  uint8_t value = 0;
  if (h.payloadType == 0)
    value = 0xff;
  else if (h.payloadType == 8)
    value = 0xd5;
  else
    return false;
  std::memset(data + h.headerBytes, value, h.payloadBytes);
  return true;
}

// Packets read per wake-up of one socket: enough to drain a burst, few enough
// that one busy leg cannot starve the others.
constexpr int kBatch = 32;
// Larger than any RTP packet on a LAN path (an Ethernet MTU); a longer
// datagram is truncated and dropped.
constexpr size_t kPacketBytes = 2048;

}  // namespace

MediaEngine::MediaEngine(EngineConfig config, Report report, Stats stats)
    : config_(std::move(config)),
      report_(std::move(report)),
      stats_(std::move(stats)),
      ports_(config_.bindAddress, config_.portLow, config_.portHigh),
      thread_("media"),
      counters_(std::make_unique<Atomics>()) {
  // A file that fails is reported from the media thread, as every fact is.
  recorder_ = std::make_unique<Recorder>([this](uint64_t leg, const std::string& why) {
    thread_.post([this, leg, why] {
      auto it = endpoints_.find(leg);
      if (it == endpoints_.end() || !it->second->recording) return;
      it->second->recording->failed = true;
      it->second->recording->pending.clear();
      SB_WARN("media", "recording of leg %llu: %s", static_cast<unsigned long long>(leg), why.c_str());
      counters_->recordingFailures.fetch_add(1, std::memory_order_relaxed);
      if (report_) report_(RecordingFailed{leg, why});
    });
  }, config_.recordings);
}

MediaEngine::~MediaEngine() { stop(); }

void MediaEngine::start() {
  thread_.start([this] {
    tick_ = event_new(thread_.base(), -1, EV_PERSIST, &MediaEngine::onTick, this);
    const timeval second{1, 0};
    event_add(tick_, &second);
  });
}

void MediaEngine::stop() {
  thread_.stop([this] {
    for (auto& [leg, e] : endpoints_) {
      endRecording(*e);
      ports_.close(e->sockets);
    }
    endpoints_.clear();
    if (tick_) event_free(tick_);
    tick_ = nullptr;
    if (frameTimer_) event_free(frameTimer_);
    frameTimer_ = nullptr;
  });
}

std::optional<uint16_t> MediaEngine::endpoint(LegId leg) {
  if (auto it = legPorts_.find(leg); it != legPorts_.end()) return it->second;
  std::optional<SocketPair> pair = ports_.open();
  if (!pair) return std::nullopt;
  const uint16_t port = pair->port;
  const bool posted = thread_.post([this, leg, p = *pair]() mutable {
    auto e = std::make_unique<Endpoint>();
    e->owner = this;
    e->leg = leg;
    e->sockets = p;
    e->learntUs = nowUs();
    e->rtpEvent = event_new(thread_.base(), p.rtp, EV_READ | EV_PERSIST, &MediaEngine::onPacket, e.get());
    e->rtcpEvent = event_new(thread_.base(), p.rtcp, EV_READ | EV_PERSIST, &MediaEngine::onPacket, e.get());
    event_add(e->rtpEvent, nullptr);
    event_add(e->rtcpEvent, nullptr);
    if (auto old = endpoints_.find(leg); old != endpoints_.end()) ports_.close(old->second->sockets);
    endpoints_[leg] = std::move(e);
  });
  if (!posted) {
    ports_.close(*pair);
    return std::nullopt;
  }
  legPorts_[leg] = port;
  return port;
}

void MediaEngine::remote(LegId leg, const sockaddr_in& rtp, uint16_t rtcpPort, bool sending, int dtmfPayloadType,
                         uint8_t laws) {
  thread_.post([this, leg, rtp, rtcpPort, sending, dtmfPayloadType, laws] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end()) return;
    Endpoint& e = *it->second;
    if (!e.known || !sameAddress(e.signalled, rtp) || e.rtcpPort != rtcpPort) {
      // Moved (a re-INVITE with a new address, a transfer): latch afresh.
      e.latched = e.rtcpLatched = false;
      e.learntUs = nowUs();
    }
    e.known = true;
    e.signalled = rtp;
    e.rtcpPort = rtcpPort;
    if (sending && !e.sending) e.learntUs = nowUs();  // the RTP timeout counts from here
    e.sending = sending;
    e.dtmfPt = dtmfPayloadType;
    e.laws = laws;
    e.timedOut = false;
  });
  legDtmf_[leg] = dtmfPayloadType;
}

void MediaEngine::mute(LegId leg, bool muted) {
  thread_.post([this, leg, muted] {
    if (auto it = endpoints_.find(leg); it != endpoints_.end()) it->second->muted = muted;
  });
}

void MediaEngine::pair(LegId a, LegId b) {
  thread_.post([this, a, b] {
    auto ea = endpoints_.find(a), eb = endpoints_.find(b);
    if (ea == endpoints_.end() || eb == endpoints_.end()) return;
    // Each leaves whoever it talked to before (a transfer moves one side).
    for (Endpoint* e : {ea->second.get(), eb->second.get()}) {
      if (e->peer == 0 || e->peer == a || e->peer == b) continue;
      if (auto old = endpoints_.find(e->peer); old != endpoints_.end() && old->second->peer == e->leg)
        old->second->peer = 0;
    }
    ea->second->peer = b;
    eb->second->peer = a;
    ea->second->out.switchSource();
    eb->second->out.switchSource();
  });
}

void MediaEngine::close(LegId leg) {
  legDtmf_.erase(leg);
  if (legPorts_.erase(leg) == 0) return;
  thread_.post([this, leg] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end()) return;
    endRecording(*it->second);
    setMixRow(*it->second, {});
    if (auto q = it->second->rtcpLeg.quality(); q && report_)  // the leg's last word on its quality
      report_(QualityReport{leg, q->mos, q->jitterMs, q->lossPercent, q->rttMs, true});
    ports_.close(it->second->sockets);
    endpoints_.erase(it);
  });
}

size_t MediaEngine::openEndpoints() const { return legPorts_.size(); }

EngineCounters MediaEngine::counters() const {
  EngineCounters c{counters_->relayed.load(std::memory_order_relaxed), counters_->dropped.load(std::memory_order_relaxed),
                   counters_->strangers.load(std::memory_order_relaxed), counters_->timeouts.load(std::memory_order_relaxed)};
  const RecorderCounters r = recorder_->counters();
  c.recordingBytes = r.bytesWritten;
  c.recordingDrops = r.blocksDropped;
  c.recordingFailures = counters_->recordingFailures.load(std::memory_order_relaxed);
  c.packetsTranscoded = counters_->transcoded.load(std::memory_order_relaxed);
  c.inbandDigits = counters_->inbandDigits.load(std::memory_order_relaxed);
  return c;
}

void MediaEngine::sync(std::function<void()> fn) {
  std::promise<void> done;
  auto finished = done.get_future();
  if (!thread_.post([&] {
        fn();
        done.set_value();
      }))
    return;
  finished.get();
}

void MediaEngine::onPacket(int fd, short, void* arg) noexcept {
  auto* e = static_cast<Endpoint*>(arg);
  guardedCallback("media", "packet", [&] { e->owner->receive(*e, fd == e->sockets.rtcp); });
}

void MediaEngine::onTick(int, short, void* arg) noexcept {
  guardedCallback("media", "tick", [&] { static_cast<MediaEngine*>(arg)->tick(); });
}

void MediaEngine::receive(Endpoint& e, bool rtcp) {
  uint8_t buf[kPacketBytes];
  for (int i = 0; i < kBatch; ++i) {
    sockaddr_in from{};
    socklen_t fromLen = sizeof from;
    const ssize_t n = ::recvfrom(rtcp ? e.sockets.rtcp : e.sockets.rtp, buf, sizeof buf, MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 0) return;  // EAGAIN: drained (or an ICMP error reported on the socket)
    const int64_t now = nowUs();
    const auto drop = [&] { counters_->dropped.fetch_add(1, std::memory_order_relaxed); };
    if (static_cast<size_t>(n) > sizeof buf || from.sin_family != AF_INET) {
      drop();
      continue;
    }
    if (!e.accept(from, rtcp, now, config_.latchWindowMs)) {
      counters_->strangers.fetch_add(1, std::memory_order_relaxed);
      drop();
      continue;
    }
    if (rtcp) {
      // Terminated here, not relayed (rtcp.hpp): a report passed on would
      // describe a stream the other side never saw.
      if (!e.rtcpLeg.onRtcp(buf, static_cast<size_t>(n), e.out, now)) drop();
      continue;
    }
    const std::optional<RtpHeader> h = parseRtp(buf, static_cast<size_t>(n));
    if (!h) {
      drop();
      continue;
    }
    e.lastRxUs = now;
    e.timedOut = false;
    e.rtcpLeg.onRtp(*h, now, static_cast<int>(h->payloadType) != e.dtmfPt);  // its receiver statistics
    if (h->payloadType == e.dtmfPt && e.dtmfPt >= 0 && h->payloadBytes >= 4 && (!e.eventSeen || h->timestamp != e.eventTs)) {
      // RFC 4733 §2.5.1.1: every packet of one event carries its start's
      // timestamp; a new timestamp is a new key.
      e.eventSeen = true;
      e.eventTs = h->timestamp;
      const uint8_t code = buf[h->headerBytes];
      if (code < 16 && report_) report_(DigitReceived{e.leg, kDtmfEvents[code]});
    }
    auto peer = endpoints_.find(e.peer);
    // A leg sends its keys as tones when the session it negotiated has no
    // telephone-event: its own SDP lists none, or the answer it got (its
    // peer's, relayed) lists none. Read before mute, so a muted agent's keys
    // are still reported (the tones themselves are silenced like any audio).
    const bool events = e.dtmfPt >= 0 && (peer == endpoints_.end() || peer->second->dtmfPt >= 0);
    if (events == static_cast<bool>(e.inband)) e.inband = events ? nullptr : std::make_unique<InbandDtmf>();
    if (e.inband && (h->payloadType == 0 || h->payloadType == 8)) {
      for (const char key : e.inband->feed(h->payloadType, buf + h->headerBytes, h->payloadBytes)) {
        counters_->inbandDigits.fetch_add(1, std::memory_order_relaxed);
        if (report_) report_(DigitReceived{e.leg, key});
      }
    }
    if (e.muted && !silence(buf, *h, e.dtmfPt)) {
      drop();
      continue;
    }
    if (recordings_ > 0) tap(e, peer == endpoints_.end() ? nullptr : peer->second.get(), buf, *h);
    const bool g711 = (h->payloadType == 0 || h->payloadType == 8);
    // Heard in a mix: a decoded copy for the frame clock (engine_mix.cpp).
    const bool mixed = g711 && e.mixInput && e.mixInput->buffer.feed(h->payloadType, buf + h->headerBytes, h->payloadBytes);
    // What a leg nobody relays to hears of us (a supervisor's mix) is in the law it sends.
    if (g711 && !e.ptFromPeer) e.lastPt = h->payloadType;
    if (peer == endpoints_.end() || !peer->second->reachable()) {
      if (!mixed) drop();
      continue;
    }
    Endpoint& p = *peer->second;
    if (p.fedByUs()) {
      // The leg hears our telephone-events, hold music or a mix now, not the other party.
      if (!mixed) drop();
      continue;
    }
    if (g711) {
      // PCMU on one leg and PCMA on the other: the payload converted in place
      // (same size, same timing) and the payload type with it.
      const uint8_t law = p.lawFor(h->payloadType);
      if (law != h->payloadType) {
        transcodeG711(buf + h->headerBytes, h->payloadBytes, h->payloadType);
        buf[1] = static_cast<uint8_t>((buf[1] & 0x80) | law);
        counters_->transcoded.fetch_add(1, std::memory_order_relaxed);
      }
      p.lastPt = law;
      p.ptFromPeer = true;
    }
    const sockaddr_in to = p.rtpTarget();
    p.out.rewrite(buf, *h, now);
    if (::sendto(p.sockets.rtp, buf, static_cast<size_t>(n), 0, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to) < 0) {
      drop();
      continue;
    }
    counters_->relayed.fetch_add(1, std::memory_order_relaxed);
  }
}

void MediaEngine::tick() {
  if (stats_) {
    const EngineCounters now = counters();
    stats_({now.packetsRelayed - reported_.packetsRelayed, now.packetsDropped - reported_.packetsDropped,
            now.strangerPackets - reported_.strangerPackets, now.streamTimeouts - reported_.streamTimeouts,
            now.recordingBytes - reported_.recordingBytes, now.recordingDrops - reported_.recordingDrops,
            now.recordingFailures - reported_.recordingFailures, now.packetsTranscoded - reported_.packetsTranscoded,
            now.inbandDigits - reported_.inbandDigits},
           {endpoints_.size(), recordings_, mixing_});
    reported_ = now;
  }
  const int64_t now = nowUs();
  for (auto& [leg, e] : endpoints_) {
    // Our RTCP to each leg when due (RFC 3550 §6.2), and its quality for the SIP side.
    uint8_t packet[LegRtcp::kMaxReportBytes];
    if (const size_t n = e->reachable() ? e->rtcpLeg.report(packet, sizeof packet, e->out, now) : 0) {
      const sockaddr_in to = e->rtcpTarget();
      (void)::sendto(e->sockets.rtcp, packet, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
    if (auto q = e->rtcpLeg.qualityDue(now); q && report_)
      report_(QualityReport{leg, q->mos, q->jitterMs, q->lossPercent, q->rttMs, false});
  }
  const int64_t limit = int64_t{config_.rtpTimeoutSeconds} * 1'000'000;
  if (limit <= 0) return;
  for (auto& [leg, e] : endpoints_) {
    // Only a stream that should be flowing: a held or inactive one is silent
    // by design, and one neither paired nor hearing a mix has nobody to talk to yet.
    if (!e->known || !e->sending || (e->peer == 0 && e->mix.empty()) || e->timedOut) continue;
    const int64_t since = std::max(e->lastRxUs, e->learntUs);
    if (now - since < limit) continue;
    e->timedOut = true;
    counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
    SB_INFO("media", "leg %llu: no RTP for %d s", static_cast<unsigned long long>(leg), config_.rtpTimeoutSeconds);
    if (report_) report_(StreamTimedOut{leg});
  }
}

}  // namespace sb::media
