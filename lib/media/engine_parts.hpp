#pragma once
// The media engine's insides, shared by its source files (engine.cpp: the
// endpoints and the relay; engine_feeds.cpp: what the engine itself sends a
// leg; engine_record.cpp: recordings; engine_mix.cpp: the mixer). Media
// thread only.
#include <event2/event.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "media/engine.hpp"
#include "media/jitter_buffer.hpp"
#include "media/inband_dtmf.hpp"
#include "media/recording_tap.hpp"
#include "media/rtcp.hpp"
#include "media/rtp.hpp"

namespace sb::media {

inline int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline bool sameAddress(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

struct MediaEngine::Atomics {
  std::atomic<uint64_t> relayed{0}, dropped{0}, strangers{0}, timeouts{0}, recordingFailures{0}, transcoded{0}, inbandDigits{0};
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

// A leg heard in some listener's mix (engine_mix.cpp): its audio decoded
// into a jitter buffer as its packets arrive, and this tick's frame of it.
struct MediaEngine::MixInput {
  JitterBuffer buffer;
  int16_t frame[JitterBuffer::kFrameSamples] = {};
  size_t rows = 0;  // listeners' rows that name it
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
  // The G.711 laws its SDP accepts (kPcmu, kPcma; 0 unknown: whatever comes
  // is relayed as it is). A packet in the other law is transcoded on its way
  // to it (PCMU on one leg, PCMA on the other).
  uint8_t laws = 0;
  // The law of a G.711 packet relayed to it: `pt` itself, or the other law
  // when only that one is accepted.
  uint8_t lawFor(uint8_t pt) const {
    const uint8_t bit = pt == 0 ? kPcmu : kPcma;
    return laws == 0 || (laws & bit) ? pt : static_cast<uint8_t>(pt == 0 ? 8 : 0);
  }
  bool muted = false;  // what it sends is silenced towards its peer
  // RFC 4733 events received from it: the timestamp of the last one reported.
  bool eventSeen = false;
  uint32_t eventTs = 0;
  // Its SDP has no telephone-event: its keys come as tones, found here.
  std::unique_ptr<InbandDtmf> inband;
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
  // mix(): what it hears instead of its peer, and its own numbering for it.
  std::vector<MixSource> mix;
  uint16_t mixSeq = 0;
  uint32_t mixTs = 0;
  std::unique_ptr<MixInput> mixInput;  // it is heard in a mix
  bool ptFromPeer = false;             // lastPt was set by what it was relayed
  // Whether the other party's packets to it are held back: it hears us.
  bool fedByUs() const { return clip != nullptr || sendingDigits() || !mix.empty(); }
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

}  // namespace sb::media
