#pragma once
// RTP packets as the relay sees them (RFC 3550 §5.1): the fixed header read
// in place, and the one edit the relay makes to it, which keeps an outgoing
// stream continuous when what feeds it changes (StreamRewriter). No payload
// is decoded here.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sb::media {

// Network byte order (RFC 3550 §5.1, §6.4) read and written in place, for
// RTP here and RTCP in rtcp.cpp.
inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// The fixed header of one packet (RFC 3550 §5.1). `headerBytes` counts the
// CSRC list and the header extension (§5.3.1), so the payload starts there.
struct RtpHeader {
  bool marker = false;
  uint8_t payloadType = 0;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  size_t headerBytes = 12;
  size_t payloadBytes = 0;  // without the padding (§5.1, P bit)
};

// The header of `data`, or nullopt when it is not an RTP packet a relay should
// pass on: shorter than its header, not version 2, padding longer than the
// packet, or a payload type in 72-76 (RTCP's packet types on an RTP port,
// RFC 5761 §4).
std::optional<RtpHeader> parseRtp(const uint8_t* data, size_t size);

// The fixed header of a packet the engine makes itself (RFC 3550 §5.1,
// version 2, no CSRC or extension): its feed's own numbering, which the leg's
// StreamRewriter then turns into its stream's.
void writeRtpHeader(uint8_t* data, uint8_t payloadType, bool marker, uint16_t sequence, uint32_t timestamp,
                    uint32_t ssrc);

// RFC 4733 §3.2: the DTMF events 0-15 and the keys they stand for.
inline constexpr char kDtmfEvents[] = "0123456789*#ABCD";

// Sequence numbers compared modulo 2^16 (RFC 3550 Appendix A.1): whether `a`
// comes after `b`.
inline bool seqAfter(uint16_t a, uint16_t b) { return a != b && static_cast<uint16_t>(a - b) < 0x8000; }

// One outgoing RTP stream towards a leg, fed by whichever source the relay
// puts on it: the other leg, hold music, a mix. RFC 3550 §8 and §5.1 want a
// receiver to see one SSRC whose sequence numbers and timestamps run on: a
// new source (a new SSRC arriving, or `switchSource`) continues them from
// where the last one stopped, its timestamps advanced by the wall time that
// passed at the stream's clock rate (RFC 7160: 8000 Hz for G.711 and
// telephone-event), and its first packet marked (RFC 3551 §4.1: the start of
// a talkspurt, so the receiver resets its jitter buffer).
class StreamRewriter {
 public:
  explicit StreamRewriter(uint32_t clockRate = 8000) : clockRate_(clockRate) {}

  // Rewrites the header of `data` (parsed as `h`) in place for the outgoing
  // stream, `nowUs` the time it is sent.
  void rewrite(uint8_t* data, const RtpHeader& h, int64_t nowUs);
  // The next packet starts a new source even if its SSRC is the same (the
  // relay moved the stream to another feed whose SSRC may collide).
  void switchSource() { switched_ = true; }
  // The stream's clock moved on by `samples` without a packet whose
  // timestamp says so (an RFC 4733 event lasts beyond its start's timestamp):
  // the next source continues from there.
  void advance(uint32_t samples) { lastTs_ += samples; }

  bool started() const { return started_; }
  uint32_t ssrc() const { return outSsrc_; }
  uint16_t lastSequence() const { return lastSeq_; }
  uint32_t lastTimestamp() const { return lastTs_; }
  int64_t lastSentUs() const { return lastUs_; }  // when the packet with lastTimestamp() went out
  // What a sender report says about the stream (RFC 3550 §6.4.1): packets
  // and payload octets sent under ssrc(), whatever fed them.
  uint32_t packets() const { return packets_; }
  uint32_t octets() const { return octets_; }
  // Sequence numbers the stream has used so far, first to highest, its
  // wraps counted (RFC 3550 Appendix A.1's "expected", seen from the sender):
  // more than packets() when the relay passed on gaps of its feed (loss
  // before it reached us) or dropped packets itself.
  uint32_t sequenceSpan() const { return started_ ? cycles_ + lastSeq_ - firstSeq_ + 1 : 0; }

 private:
  uint32_t clockRate_;
  bool started_ = false;
  bool switched_ = false;
  uint32_t outSsrc_ = 0;
  uint32_t inSsrc_ = 0;
  uint16_t seqDelta_ = 0;  // out = in + delta, modulo 2^16
  uint32_t tsDelta_ = 0;   // out = in + delta, modulo 2^32
  uint16_t lastSeq_ = 0;   // the highest sequence number sent
  uint32_t lastTs_ = 0;    // the timestamp sent with it
  int64_t lastUs_ = 0;     // when
  uint16_t firstSeq_ = 0;  // the first sequence number sent
  uint32_t cycles_ = 0;    // wraps of the sequence number since, times 2^16
  uint32_t packets_ = 0;
  uint32_t octets_ = 0;
};

}  // namespace sb::media
