#pragma once
// RTCP, terminated per leg (RFC 3550 §6; docs/MEDIA.md, "Call
// quality"). A B2BUA cannot relay RTCP: the SSRC and sequence numbers each
// phone sees are the ones our StreamRewriter writes, so a report passed on
// would describe a stream the other side never saw. Each endpoint is an RTP
// participant of its own towards its leg instead:
//   - ReceiverStats measures the stream the leg sends us (Appendix A.1, A.3,
//     A.8: extended highest sequence number, expected and lost, fraction
//     lost, interarrival jitter);
//   - writeReport builds our compound packet for the leg: an SR about the
//     stream we send it (an RR while we have sent nothing), one report block
//     about its stream, and SDES CNAME (§6.1, §6.4, §6.5);
//   - parseRtcp reads the leg's compound packets, every field bounds-checked,
//     for its sender report (LSR, §6.4.1) and its report block about our
//     stream (loss and jitter as the phone measured them, and LSR/DLSR for
//     the round-trip time);
//   - LegRtcp holds all of that for one endpoint, paces the reports (§6.2)
//     and turns them into the leg's Quality (lib/media/quality.hpp).
// No Debian library does this outside a whole media stack (docs/ARCHITECTURE.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "media/quality.hpp"
#include "media/rtp.hpp"

namespace sb::media {

// Appendix A.1, A.3 and A.8 for the stream a leg sends us. A new SSRC (the
// phone restarted its stream) starts a new source; what the old one lost
// still counts in the leg's totals.
class ReceiverStats {
 public:
  explicit ReceiverStats(uint32_t clockRate = 8000) : clockRate_(clockRate) {}

  // One RTP packet from the leg, arrived at `arrivalUs` (a monotonic clock).
  // `timed`: its timestamp paces audio; false for telephone-events, whose
  // packets all carry their event's start (RFC 4733 §2.5.1.1) and would read
  // as jitter. They are counted for loss all the same: they share the
  // stream's sequence numbers.
  void onPacket(const RtpHeader& h, int64_t arrivalUs, bool timed = true);

  bool valid() const { return valid_; }  // a source past its probation (A.1)
  uint32_t ssrc() const { return ssrc_; }
  // The current source, for its report block (§6.4.1).
  uint32_t extendedHighest() const { return cycles_ + maxSeq_; }
  int32_t cumulativeLost() const;  // expected - received, negative with duplicates (A.3)
  uint8_t takeFractionLost();      // since the last call, 8-bit fixed point (A.3)
  uint32_t jitter() const { return jitter_ >> 4; }  // timestamp units (A.8)
  // The leg's stream over the whole call, every source.
  int64_t expected() const;
  int64_t lost() const;
  double lossPercent() const;  // 0..100
  double jitterMs() const { return jitter() * 1000.0 / clockRate_; }

 private:
  void initSeq(uint16_t seq);
  bool updateSeq(uint16_t seq);
  int64_t sourceExpected() const { return valid_ ? int64_t{extendedHighest()} - baseSeq_ + 1 : 0; }

  uint32_t clockRate_;
  bool seen_ = false;   // any packet of the current source
  bool valid_ = false;  // ... and past probation
  uint32_t ssrc_ = 0;
  uint16_t maxSeq_ = 0;
  uint32_t cycles_ = 0;  // wraps times 2^16
  uint32_t baseSeq_ = 0;
  uint32_t badSeq_ = 0;
  uint32_t probation_ = 0;
  uint32_t received_ = 0;
  uint32_t expectedPrior_ = 0, receivedPrior_ = 0;  // at the last report (A.3)
  bool transitKnown_ = false;
  int32_t transit_ = 0;
  uint32_t jitter_ = 0;  // times 16 (A.8's integer form)
  int64_t pastExpected_ = 0, pastReceived_ = 0;  // earlier sources
};

// One report block (§6.4.1).
struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fractionLost = 0;
  int32_t cumulativeLost = 0;  // 24-bit signed on the wire
  uint32_t extendedHighest = 0;
  uint32_t jitter = 0;
  uint32_t lsr = 0;   // middle 32 bits of the NTP timestamp of the last SR received from ssrc
  uint32_t dlsr = 0;  // since then, 1/65536 s
};

// What one compound packet from a leg says that we use.
struct RtcpInfo {
  uint32_t senderSsrc = 0;              // of its first SR or RR
  std::optional<uint32_t> srNtpMiddle;  // it began with an SR: its NTP timestamp's middle 32 bits
  std::optional<ReportBlock> aboutUs;   // its report block about `ourSsrc`
};

// A compound RTCP packet (§6.1, validity checks of Appendix A.2): nullopt
// unless every packet in it has version 2 and a length within what is left,
// the first is an SR or RR without padding, only the last is padded, and
// each SR and RR holds the report blocks its count announces.
std::optional<RtcpInfo> parseRtcp(const uint8_t* data, size_t size, uint32_t ourSsrc);

// What the SR says about the stream we send (§6.4.1); `sending` false: RR.
struct SenderInfo {
  bool sending = false;
  uint32_t ssrc = 0;
  uint64_t ntp = 0;  // 32.32 fixed point seconds since 1900
  uint32_t rtpTimestamp = 0;
  uint32_t packets = 0;
  uint32_t octets = 0;
};
// Our compound packet: SR (or RR) with `block` when given, then SDES with
// CNAME (§6.5.1). Returns its size, 0 when `cap` is too small.
size_t writeReport(uint8_t* out, size_t cap, const SenderInfo& sender, const std::optional<ReportBlock>& block,
                   const std::string& cname);

// The NTP timestamp (§4) of a wall-clock time in µs since 1970.
uint64_t ntpFromUnixUs(int64_t unixUs);
inline uint32_t ntpMiddle(uint64_t ntp) { return static_cast<uint32_t>(ntp >> 16); }

// One endpoint's RTCP towards its leg (media thread).
class LegRtcp {
 public:
  static constexpr size_t kMaxReportBytes = 128;  // SR, one block, SDES with our 16-character CNAME: 80
  static constexpr int64_t kIntervalUs = 5'000'000;  // §6.2: the recommended minimum
  explicit LegRtcp(uint32_t clockRate = 8000);

  // The RTP path: a packet the leg sent us (ReceiverStats::onPacket).
  void onRtp(const RtpHeader& h, int64_t nowUs, bool timed = true);
  // A compound packet from the leg's RTCP port; false when malformed (the
  // engine counts it dropped). `out` is the stream we send the leg, which
  // the phone's report block describes.
  bool onRtcp(const uint8_t* data, size_t size, const StreamRewriter& out, int64_t nowUs);
  bool onRtcp(const uint8_t* data, size_t size, const StreamRewriter& out, int64_t nowUs, uint64_t ntpNow);
  // Our compound report into `buf` when one is due at `nowUs`: its size,
  // else 0. Due once there is a stream either way, first after half the
  // interval (§6.3.6's initial delay), then every kIntervalUs, each times a
  // random factor of 0.5 to 1.5 (§6.3.1) so that endpoints opened together
  // do not report in step.
  size_t report(uint8_t* buf, size_t cap, const StreamRewriter& out, int64_t nowUs);
  size_t report(uint8_t* buf, size_t cap, const StreamRewriter& out, int64_t nowUs, uint64_t ntpNow);

  // The leg's quality so far, when anything was measured either way.
  std::optional<Quality> quality() const;
  // The same at most every kIntervalUs, and only when something new came in.
  std::optional<Quality> qualityDue(int64_t nowUs);

 private:
  int64_t nextInterval(int64_t base);

  ReceiverStats stats_;
  uint32_t clockRate_;
  std::minstd_rand random_;
  uint32_t rrSsrc_ = 0;  // our SSRC while we send nothing (§8.1: random)
  std::string cname_;    // RFC 7022 §4.2: random, per endpoint
  int64_t nextReportUs_ = 0;
  // The leg's last SR (for our LSR/DLSR): its SSRC, NTP middle and arrival.
  bool srSeen_ = false;
  uint32_t srSsrc_ = 0, srMiddle_ = 0;
  int64_t srArrivalUs_ = 0;
  // What the leg's reports said about our stream.
  bool farSeen_ = false;
  double farLossPercent_ = 0, farJitterMs_ = 0, rttMs_ = -1;
  bool fresh_ = false;  // something new since the last qualityDue
  int64_t lastQualityUs_ = 0;
};

}  // namespace sb::media
