// What the engine itself sends a leg instead of the other party's audio:
// RFC 4733 telephone-events (sendDigits) and hold music (play). Each is a feed
// of its own numbering, turned into the leg's one continuous stream by the
// leg's StreamRewriter (RFC 3550 §5.1, §8).
#include <sys/socket.h>

#include <cctype>
#include <cstring>

#include "common/c_callback.hpp"
#include "common/log.hpp"
#include "media/engine_parts.hpp"

namespace sb::media {

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
  if (e.reachable()) sendOwn(e, pkt, sizeof pkt, now);
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
  constexpr uint32_t kPlayerSsrc = 0x4d555349;  // the player's own SSRC, rewritten into the leg's stream
  sendFrame(e, frame, e.playSeq, e.playTs, kPlayerSsrc);
}

// A packet the engine made itself (under its feed's own numbering and SSRC)
// into the leg's one stream: rewritten (RFC 3550 §5.1, §8) and sent.
void MediaEngine::sendOwn(Endpoint& e, uint8_t* pkt, size_t size, int64_t now) {
  const std::optional<RtpHeader> h = parseRtp(pkt, size);
  if (!h) return;
  e.out.rewrite(pkt, *h, now);
  const sockaddr_in to = e.rtpTarget();
  if (::sendto(e.sockets.rtp, pkt, size, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) >= 0)
    counters_->relayed.fetch_add(1, std::memory_order_relaxed);
}

// 20 ms of audio (RFC 3551 §4.5.14: 160 samples at 8000 Hz) encoded in the
// G.711 law the leg uses, as the next packet of the feed numbered by `seq`
// and `ts`.
void MediaEngine::sendFrame(Endpoint& e, const int16_t* frame, uint16_t& seq, uint32_t& ts, uint32_t ssrc) {
  constexpr size_t kFrame = JitterBuffer::kFrameSamples;
  uint8_t pkt[12 + kFrame];
  ts += kFrame;
  const uint8_t law = e.lawFor(e.lastPt);  // one its SDP accepts, even before anything was relayed to it
  writeRtpHeader(pkt, law, false, ++seq, ts, ssrc);
  encodeG711(frame, kFrame, law, pkt + 12);
  sendOwn(e, pkt, sizeof pkt, nowUs());
}

}  // namespace sb::media
