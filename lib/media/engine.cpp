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
#include "media/recording_tap.hpp"
#include "media/rtcp.hpp"
#include "media/rtp.hpp"

namespace sb::media {
namespace {

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool sameAddress(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

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

struct MediaEngine::Atomics {
  std::atomic<uint64_t> relayed{0}, dropped{0}, strangers{0}, timeouts{0}, recordingFailures{0};
};

// A leg being recorded (record()), on the media thread.
struct MediaEngine::Recording {
  explicit Recording(bool stereo) : tap(stereo) {}
  RecordingTap tap;
  bool paused = false;
  bool failed = false;            // reported once; nothing more is written
  bool undecodableSeen = false;   // a codec we cannot decode: reported once
  std::vector<int16_t> pending;   // frames not yet handed to the writer
};

// One leg's endpoint, on the media thread.
struct MediaEngine::Endpoint {
  MediaEngine* owner = nullptr;
  LegId leg = 0;
  SocketPair sockets;
  event* rtpEvent = nullptr;
  event* rtcpEvent = nullptr;
  // What the leg's SDP says (remote()).
  bool known = false;
  sockaddr_in signalled{};
  uint16_t rtcpPort = 0;
  bool sending = false;
  int64_t learntUs = 0;  // when the endpoint opened or the SDP last moved it: the latch window starts
  // Where its packets really come from (symmetric RTP, RFC 4961), once latched.
  bool latched = false, rtcpLatched = false;
  sockaddr_in source{}, rtcpSource{};
  int dtmfPt = -1;      // its telephone-event payload type
  bool muted = false;  // what it sends is silenced towards its peer
  // RFC 4733 events received from it: the timestamp of the last one reported.
  bool eventSeen = false;
  uint32_t eventTs = 0;
  // sendDigits towards it: the digits left, the one being sent and how far.
  std::string digits;
  event* digitTimer = nullptr;
  int step = 0;             // packets of the current digit sent
  uint16_t genSeq = 0;      // the generator's own numbering, rewritten by `out`
  uint32_t genTs = 0;
  bool sendingDigits() const { return digitTimer && (step > 0 || !digits.empty()); }
  // play(): the clip looped towards it, and where in it.
  std::shared_ptr<const Clip> clip;
  size_t clipPos = 0;
  event* playTimer = nullptr;
  uint16_t playSeq = 0;
  uint32_t playTs = 0;
  uint8_t lastPt = 0;  // the G.711 payload type it has been getting (PCMU until seen otherwise)
  // Whether the other party's packets to it are held back: it hears us.
  bool fedByUs() const { return clip != nullptr || sendingDigits(); }
  std::unique_ptr<Recording> recording;  // record(): this leg and what it hears
  LegId peer = 0;
  StreamRewriter out;  // the stream this endpoint sends towards the leg's far end
  LegRtcp rtcpLeg;     // RTCP with the leg, terminated here (rtcp.hpp): its quality
  int64_t lastRxUs = 0;
  bool timedOut = false;

  ~Endpoint() {
    if (rtpEvent) event_free(rtpEvent);
    if (rtcpEvent) event_free(rtcpEvent);
    if (digitTimer) event_free(digitTimer);
    if (playTimer) event_free(playTimer);
  }
  bool reachable() const { return latched || known; }
  sockaddr_in rtpTarget() const { return latched ? source : signalled; }
  // Where RTCP goes beside RTP at `rtp`: the SDP's a=rtcp port, else the
  // next one (RFC 3550 §11, RFC 3605).
  sockaddr_in rtcpBeside(sockaddr_in rtp) const {
    rtp.sin_port = htons(rtcpPort ? rtcpPort : static_cast<uint16_t>(ntohs(rtp.sin_port) + 1));
    return rtp;
  }
  sockaddr_in rtcpTarget() const { return rtcpLatched ? rtcpSource : rtcpBeside(rtpTarget()); }
  // Whether a packet from `from` is the leg's own, latching to it when the
  // rules allow (EngineConfig::latchWindowMs).
  bool accept(const sockaddr_in& from, bool rtcp, int64_t now, int windowMs) {
    bool& isLatched = rtcp ? rtcpLatched : latched;
    sockaddr_in& latchedTo = rtcp ? rtcpSource : source;
    if (isLatched) return sameAddress(from, latchedTo);
    const sockaddr_in expected = rtcp ? rtcpBeside(signalled) : signalled;
    const bool fromSignalled = known && sameAddress(from, expected);
    if (!fromSignalled && now - learntUs > int64_t{windowMs} * 1000) return false;
    isLatched = true;
    latchedTo = from;
    return true;
  }
};

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

void MediaEngine::remote(LegId leg, const sockaddr_in& rtp, uint16_t rtcpPort, bool sending, int dtmfPayloadType) {
  thread_.post([this, leg, rtp, rtcpPort, sending, dtmfPayloadType] {
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
    e.timedOut = false;
  });
  legDtmf_[leg] = dtmfPayloadType;
}

bool MediaEngine::sendDigits(LegId leg, const std::string& digits) {
  auto pt = legDtmf_.find(leg);
  if (pt == legDtmf_.end() || pt->second < 0 || !legPorts_.count(leg)) return false;
  return thread_.post([this, leg, digits] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end() || it->second->dtmfPt < 0) return;
    Endpoint& e = *it->second;
    const bool idle = !e.sendingDigits();
    e.digits += digits;
    if (!e.digitTimer) e.digitTimer = event_new(thread_.base(), -1, 0, &MediaEngine::onDigitTimer, &e);
    if (idle) nextDigitPacket(e);
  });
}

void MediaEngine::onDigitTimer(int, short, void* arg) noexcept {
  auto* e = static_cast<Endpoint*>(arg);
  guardedCallback("media", "digit", [&] { e->owner->nextDigitPacket(*e); });
}

// One packet of the digit at the front of e.digits (RFC 4733 §2.3): steps 0-3
// are updates at 0, 50, 100 and 150 ms with the duration so far (the first
// marked, §2.3.2), steps 4-6 the end (E bit, duration 160 ms) three times
// 20 ms apart; then 100 ms of pause before the next digit.
void MediaEngine::nextDigitPacket(Endpoint& e) {
  if (e.digits.empty()) return;
  constexpr uint16_t kSamplesPer50Ms = 400, kDigitSamples = 1280;  // 8000 Hz (RFC 4733 §2.1)
  const char digit = e.digits.front();
  const char* found = std::strchr(kDtmfEvents, std::toupper(static_cast<unsigned char>(digit)));
  if (!found || *found == '\0') {
    e.digits.erase(0, 1);  // validated by core; a stray one is skipped
    e.step = 0;
    if (!e.digits.empty()) nextDigitPacket(e);
    return;
  }
  const int64_t now = nowUs();
  if (e.step == 0) e.genTs += 8000;  // a new event: a timestamp well past the last one's end
  const bool end = e.step >= 4;
  // The duration so far (§2.5.1.2): one 20 ms frame in the first update, then 50 ms more in each.
  const uint16_t duration = end ? kDigitSamples : (e.step == 0 ? uint16_t{160} : static_cast<uint16_t>(kSamplesPer50Ms * e.step));
  uint8_t pkt[12 + 4];
  constexpr uint32_t kGeneratorSsrc = 0x44544d46;  // our feed's own SSRC, rewritten into the leg's stream
  writeRtpHeader(pkt, static_cast<uint8_t>(e.dtmfPt), e.step == 0, ++e.genSeq, e.genTs, kGeneratorSsrc);
  pkt[12] = static_cast<uint8_t>(found - kDtmfEvents);
  pkt[13] = static_cast<uint8_t>((end ? 0x80 : 0) | 10);  // E bit; volume -10 dBm0 (§2.3.4)
  pkt[14] = static_cast<uint8_t>(duration >> 8);
  pkt[15] = static_cast<uint8_t>(duration);
  if (auto h = parseRtp(pkt, sizeof pkt); h && e.reachable()) {
    e.out.rewrite(pkt, *h, now);
    const sockaddr_in to = e.rtpTarget();
    if (::sendto(e.sockets.rtp, pkt, sizeof pkt, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) >= 0)
      counters_->relayed.fetch_add(1, std::memory_order_relaxed);
  }
  timeval next{0, 50'000};
  if (++e.step >= 7) {
    // The digit is done: the stream's clock moves past its duration, and the
    // next one (or the other party's audio) follows a pause.
    e.out.advance(kDigitSamples);
    e.digits.erase(0, 1);
    e.step = 0;
    next.tv_usec = 100'000;
    if (e.digits.empty()) {
      e.out.switchSource();  // the other party's audio resumes as a new source
      return;
    }
  } else if (end) {
    next.tv_usec = 20'000;
  }
  event_add(e.digitTimer, &next);
}

void MediaEngine::play(LegId leg, const std::string& file) {
  thread_.post([this, leg, file] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end()) return;
    Endpoint& e = *it->second;
    std::shared_ptr<const Clip> clip;
    if (!file.empty()) {
      if (auto c = clips_.find(file); c != clips_.end()) {
        clip = c->second;
      } else {
        std::string why;
        clip = Clip::load(file, &why);
        if (!clip) SB_WARN("media", "hold music %s: %s; playing the built-in chime", file.c_str(), why.c_str());
        clips_[file] = clip;  // a failure is remembered too: logged once
      }
    }
    e.clip = clip ? clip : Clip::chime();
    e.clipPos = 0;
    e.out.switchSource();
    if (!e.playTimer) e.playTimer = event_new(thread_.base(), -1, EV_PERSIST, &MediaEngine::onPlayTimer, &e);
    const timeval frame{0, 20'000};
    event_add(e.playTimer, &frame);
  });
}

void MediaEngine::stopPlaying(LegId leg) {
  thread_.post([this, leg] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end() || !it->second->clip) return;
    Endpoint& e = *it->second;
    e.clip.reset();
    if (e.playTimer) event_del(e.playTimer);
    e.out.switchSource();  // the other party's audio resumes as a new source
  });
}

void MediaEngine::onPlayTimer(int, short, void* arg) noexcept {
  auto* e = static_cast<Endpoint*>(arg);
  guardedCallback("media", "play", [&] { e->owner->playFrame(*e); });
}

// One 20 ms frame of the clip (RFC 3551 §4.5.14: 160 samples of G.711 at 8000 Hz).
void MediaEngine::playFrame(Endpoint& e) {
  if (!e.clip || !e.reachable() || e.sendingDigits()) return;
  constexpr size_t kFrame = 160;
  const std::vector<int16_t>& s = e.clip->samples();
  int16_t frame[kFrame];
  for (size_t i = 0; i < kFrame; ++i) {
    frame[i] = s[e.clipPos];
    e.clipPos = (e.clipPos + 1) % s.size();
  }
  uint8_t pkt[12 + kFrame];
  constexpr uint32_t kPlayerSsrc = 0x4d555349;  // the player's own SSRC, rewritten into the leg's stream
  e.playTs += kFrame;
  writeRtpHeader(pkt, e.lastPt, false, ++e.playSeq, e.playTs, kPlayerSsrc);
  encodeG711(frame, kFrame, e.lastPt, pkt + 12);
  if (auto h = parseRtp(pkt, sizeof pkt)) {
    e.out.rewrite(pkt, *h, nowUs());
    const sockaddr_in to = e.rtpTarget();
    if (::sendto(e.sockets.rtp, pkt, sizeof pkt, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) >= 0)
      counters_->relayed.fetch_add(1, std::memory_order_relaxed);
  }
}

void MediaEngine::record(LegId leg, const std::string& path, bool stereo) {
  thread_.post([this, leg, path, stereo] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end() || it->second->recording) return;
    Endpoint& e = *it->second;
    e.recording = std::make_unique<Recording>(stereo);
    recorder_->open(leg, path, stereo ? 2 : 1);
    if (recordings_++ == 0) {
      if (!frameTimer_) frameTimer_ = event_new(thread_.base(), -1, EV_PERSIST, &MediaEngine::onFrameTimer, this);
      const timeval frame{0, 20'000};
      event_add(frameTimer_, &frame);
    }
  });
}

void MediaEngine::pauseRecording(LegId leg, bool paused) {
  thread_.post([this, leg, paused] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end() || !it->second->recording) return;
    Recording& r = *it->second->recording;
    r.paused = paused;
    r.tap.reset();  // what was buffered before the pause is not kept either
  });
}

void MediaEngine::stopRecording(LegId leg) {
  thread_.post([this, leg] {
    if (auto it = endpoints_.find(leg); it != endpoints_.end()) endRecording(*it->second);
  });
}

void MediaEngine::endRecording(Endpoint& e) {
  if (!e.recording) return;
  if (!e.recording->pending.empty() && !e.recording->failed) recorder_->write(e.leg, std::move(e.recording->pending));
  recorder_->close(e.leg);
  e.recording.reset();
  if (--recordings_ == 0 && frameTimer_) event_del(frameTimer_);
}

// Copies of the packet's audio for the recordings it belongs to: what `from`
// sends is channel 0 of its own recording and channel 1 of its peer's.
void MediaEngine::tap(Endpoint& from, Endpoint* to, const uint8_t* packet, const RtpHeader& h) {
  if (static_cast<int>(h.payloadType) == from.dtmfPt) return;  // telephone-events are not audio
  const auto feed = [&](Endpoint& owner, int channel) {
    Recording& r = *owner.recording;
    if (r.paused || r.failed) return;
    if (r.tap.feed(channel, h.payloadType, packet + h.headerBytes, h.payloadBytes) || r.undecodableSeen) return;
    r.undecodableSeen = true;
    counters_->recordingFailures.fetch_add(1, std::memory_order_relaxed);
    if (report_)
      report_(RecordingFailed{owner.leg, "codecNotDecodable: payload type " + std::to_string(h.payloadType) +
                                             " is not G.711 (PCMU, PCMA); that side is recorded as silence"});
  };
  if (from.recording) feed(from, 0);
  if (to && to->recording && to->peer == from.leg) feed(*to, 1);
}

void MediaEngine::onFrameTimer(int, short, void* arg) noexcept {
  guardedCallback("media", "record", [&] { static_cast<MediaEngine*>(arg)->recordFrames(); });
}

// The frame clock: one 20 ms frame of every recording not paused, handed to
// the writer a second at a time (one write(2) a second per file, not fifty).
void MediaEngine::recordFrames() {
  constexpr size_t kBlockFrames = 50;
  for (auto& [leg, e] : endpoints_) {
    if (!e->recording) continue;
    Recording& r = *e->recording;
    if (r.paused || r.failed) continue;
    r.tap.frame(r.pending);
    const size_t channels = r.tap.stereo() ? 2 : 1;
    if (r.pending.size() >= kBlockFrames * RecordingTap::kFrameSamples * channels)
      recorder_->write(leg, std::exchange(r.pending, {}));
  }
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
    std::optional<RtpHeader> h;
    if (!rtcp) {
      h = parseRtp(buf, static_cast<size_t>(n));
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
      if (e.muted && !silence(buf, *h, e.dtmfPt)) {
        drop();
        continue;
      }
    }
    auto peer = endpoints_.find(e.peer);
    if (!rtcp && recordings_ > 0) tap(e, peer == endpoints_.end() ? nullptr : peer->second.get(), buf, *h);
    if (peer == endpoints_.end() || !peer->second->reachable()) {
      drop();
      continue;
    }
    Endpoint& p = *peer->second;
    if (!rtcp && p.fedByUs()) {
      drop();  // the leg hears our telephone-events or hold music now, not the other party
      continue;
    }
    if (!rtcp && (h->payloadType == 0 || h->payloadType == 8)) p.lastPt = h->payloadType;
    sockaddr_in to = rtcp ? p.rtcpTarget() : p.rtpTarget();
    if (!rtcp) p.out.rewrite(buf, *h, now);
    if (::sendto(rtcp ? p.sockets.rtcp : p.sockets.rtp, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&to),
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
            now.recordingFailures - reported_.recordingFailures},
           {endpoints_.size(), recordings_});
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
    // by design, and an unpaired one has nobody to talk to yet.
    if (!e->known || !e->sending || e->peer == 0 || e->timedOut) continue;
    const int64_t since = std::max(e->lastRxUs, e->learntUs);
    if (now - since < limit) continue;
    e->timedOut = true;
    counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
    SB_INFO("media", "leg %llu: no RTP for %d s", static_cast<unsigned long long>(leg), config_.rtpTimeoutSeconds);
    if (report_) report_(StreamTimedOut{leg});
  }
}

}  // namespace sb::media
