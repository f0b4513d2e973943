#include "media/rtcp.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace sb::media {
namespace {

constexpr uint8_t kSr = 200, kRr = 201, kSdes = 202;  // §12.1
constexpr uint8_t kCname = 1;                          // §12.2
// Appendix A.1's constants.
constexpr uint32_t kSeqMod = 1u << 16;
constexpr uint16_t kMaxDropout = 3000;
constexpr uint16_t kMaxMisorder = 100;
constexpr uint32_t kMinSequential = 2;

int64_t unixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 7022 §4.2: a CNAME of 96 random bits, base64 (16 characters), so that
// nothing about the host or the call leaks and two endpoints never share one.
std::string randomCname(std::random_device& rd) {
  static constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (int word = 0; word < 4; ++word) {
    const uint32_t bits = rd();  // 24 of them used: 4 characters
    for (int i = 0; i < 4; ++i) out += kBase64[(bits >> (6 * i)) & 0x3f];
  }
  return out;
}

}  // namespace

// ---- Appendix A.1, A.3, A.8 ----------------------------------------------------

void ReceiverStats::initSeq(uint16_t seq) {
  baseSeq_ = seq;
  maxSeq_ = seq;
  badSeq_ = kSeqMod + 1;  // so seq == badSeq_ is false
  cycles_ = 0;
  received_ = 0;
  receivedPrior_ = 0;
  expectedPrior_ = 0;
}

// A.1's update_seq: whether the packet counts (a source on probation, or a
// jump that is not yet confirmed as a restart, does not).
bool ReceiverStats::updateSeq(uint16_t seq) {
  const uint16_t udelta = static_cast<uint16_t>(seq - maxSeq_);
  if (probation_ > 0) {
    // A source is valid once MIN_SEQUENTIAL packets came in sequence.
    if (seq == static_cast<uint16_t>(maxSeq_ + 1)) {
      --probation_;
      maxSeq_ = seq;
      if (probation_ == 0) {
        initSeq(seq);
        valid_ = true;
        ++received_;
        return true;
      }
    } else {
      probation_ = kMinSequential - 1;
      maxSeq_ = seq;
    }
    return false;
  }
  if (udelta < kMaxDropout) {
    if (seq < maxSeq_) cycles_ += kSeqMod;  // in order, with a permissible gap; wrapped
    maxSeq_ = seq;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A very large jump: two in sequence mean the sender restarted its
    // numbering without telling us; what the old numbering lost still counts.
    if (seq != badSeq_) {
      badSeq_ = (seq + 1u) & (kSeqMod - 1);
      return false;
    }
    pastExpected_ += sourceExpected();
    pastReceived_ += received_;
    initSeq(seq);
  }
  // else: a duplicate or a reordered packet; counted as received (A.3 lets
  // "lost" go negative for duplicates).
  ++received_;
  return true;
}

void ReceiverStats::onPacket(const RtpHeader& h, int64_t arrivalUs, bool timed) {
  if (!seen_ || h.ssrc != ssrc_) {
    // A new source (§8.2: a new SSRC is a new stream); the old one's totals stay.
    if (seen_) {
      pastExpected_ += sourceExpected();
      pastReceived_ += received_;
    }
    seen_ = true;
    valid_ = false;
    ssrc_ = h.ssrc;
    initSeq(h.sequence);
    maxSeq_ = static_cast<uint16_t>(h.sequence - 1);
    probation_ = kMinSequential;
    transitKnown_ = false;
    jitter_ = 0;
  }
  if (!updateSeq(h.sequence) || !timed) return;
  // A.8: the difference of relative transit times, in timestamp units, and
  // its running mean with gain 1/16 (kept times 16, the integer form).
  const auto arrival = static_cast<uint32_t>(arrivalUs * clockRate_ / 1'000'000);
  const auto transit = static_cast<int32_t>(arrival - h.timestamp);
  if (transitKnown_) {
    int64_t d = int64_t{transit} - transit_;
    if (d < 0) d = -d;
    // A jump of more than a second is a discontinuity of the sender's clock
    // (a PBX switching what feeds the stream under one SSRC), not jitter:
    // A.8 would carry it for dozens of packets.
    if (d <= clockRate_) jitter_ += static_cast<uint32_t>(d) - ((jitter_ + 8) >> 4);
  }
  transit_ = transit;
  transitKnown_ = true;
}

int32_t ReceiverStats::cumulativeLost() const {
  const int64_t lost = sourceExpected() - received_;
  return static_cast<int32_t>(std::clamp<int64_t>(lost, -0x800000, 0x7fffff));  // 24 bits signed (§6.4.1)
}

uint8_t ReceiverStats::takeFractionLost() {
  const int64_t expected = sourceExpected();
  const int64_t expectedInterval = expected - expectedPrior_;
  const int64_t receivedInterval = int64_t{received_} - receivedPrior_;
  expectedPrior_ = static_cast<uint32_t>(expected);
  receivedPrior_ = received_;
  const int64_t lostInterval = expectedInterval - receivedInterval;
  if (expectedInterval <= 0 || lostInterval <= 0) return 0;
  return static_cast<uint8_t>(std::min<int64_t>(255, (lostInterval << 8) / expectedInterval));
}

int64_t ReceiverStats::expected() const { return pastExpected_ + sourceExpected(); }
int64_t ReceiverStats::lost() const { return expected() - (pastReceived_ + received_); }

double ReceiverStats::lossPercent() const {
  const int64_t e = expected();
  if (e <= 0) return 0;
  return std::clamp(100.0 * static_cast<double>(lost()) / static_cast<double>(e), 0.0, 100.0);
}

// ---- packets -----------------------------------------------------------------------

uint64_t ntpFromUnixUs(int64_t unixUs) {
  constexpr uint64_t kUnixToNtp = 2'208'988'800;  // seconds from 1900 to 1970
  const uint64_t us = static_cast<uint64_t>(std::max<int64_t>(0, unixUs));
  const uint64_t seconds = us / 1'000'000 + kUnixToNtp;
  const uint64_t fraction = ((us % 1'000'000) << 32) / 1'000'000;
  return seconds << 32 | fraction;
}

std::optional<RtcpInfo> parseRtcp(const uint8_t* data, size_t size, uint32_t ourSsrc) {
  if (!data || size < 8) return std::nullopt;
  RtcpInfo info;
  size_t pos = 0;
  bool first = true;
  while (pos < size) {
    if (size - pos < 4) return std::nullopt;
    const uint8_t* p = data + pos;
    if ((p[0] >> 6) != 2) return std::nullopt;
    const bool padded = (p[0] & 0x20) != 0;
    const size_t count = p[0] & 0x1f;
    const uint8_t type = p[1];
    const size_t length = (size_t{be16(p + 2)} + 1) * 4;  // §6.4.1: in 32-bit words minus one
    if (length > size - pos) return std::nullopt;
    size_t body = length;
    if (padded) {
      // A.2: only the last packet of a compound may be padded, and its last
      // octet counts the padding, itself included.
      if (pos + length != size) return std::nullopt;
      const size_t pad = p[length - 1];
      if (pad == 0 || pad > length - 4) return std::nullopt;
      body = length - pad;
    }
    // §6.1: a compound packet starts with an SR or RR (RFC 5506's reduced
    // size RTCP is never negotiated by our SDP).
    if (first && type != kSr && type != kRr) return std::nullopt;
    if (type == kSr || type == kRr) {
      const size_t fixed = type == kSr ? 28 : 8;  // header, SSRC, and the SR's sender info
      if (body < fixed + 24 * count) return std::nullopt;
      if (first) {
        info.senderSsrc = be32(p + 4);
        if (type == kSr) info.srNtpMiddle = be32(p + 8) << 16 | be32(p + 12) >> 16;
      }
      for (size_t i = 0; i < count && !info.aboutUs; ++i) {
        const uint8_t* b = p + fixed + 24 * i;
        if (be32(b) != ourSsrc) continue;
        ReportBlock r;
        r.ssrc = ourSsrc;
        r.fractionLost = b[4];
        int32_t lost = static_cast<int32_t>(uint32_t{b[5]} << 16 | uint32_t{b[6]} << 8 | b[7]);
        if (lost & 0x800000) lost -= 0x1000000;  // 24 bits, two's complement
        r.cumulativeLost = lost;
        r.extendedHighest = be32(b + 8);
        r.jitter = be32(b + 12);
        r.lsr = be32(b + 16);
        r.dlsr = be32(b + 20);
        info.aboutUs = r;
      }
    }
    // SDES, BYE, APP, feedback and XR: nothing we act on (their lengths were checked).
    pos += length;
    first = false;
  }
  return info;
}

size_t writeReport(uint8_t* out, size_t cap, const SenderInfo& sender, const std::optional<ReportBlock>& block,
                   const std::string& cname) {
  const size_t blocks = block ? 1 : 0;
  const size_t head = (sender.sending ? 28 : 8) + 24 * blocks;
  const size_t text = std::min<size_t>(cname.size(), 255);
  const size_t chunk = 4 + 2 + text + 1;  // SSRC, CNAME item, END (§6.5: then padded to 32 bits)
  const size_t sdes = 4 + ((chunk + 3) & ~size_t{3});
  if (!out || cap < head + sdes) return 0;
  std::memset(out, 0, head + sdes);
  out[0] = static_cast<uint8_t>(0x80 | blocks);
  out[1] = sender.sending ? kSr : kRr;
  put16(out + 2, static_cast<uint16_t>(head / 4 - 1));
  put32(out + 4, sender.ssrc);
  if (sender.sending) {
    put32(out + 8, static_cast<uint32_t>(sender.ntp >> 32));
    put32(out + 12, static_cast<uint32_t>(sender.ntp));
    put32(out + 16, sender.rtpTimestamp);
    put32(out + 20, sender.packets);
    put32(out + 24, sender.octets);
  }
  if (block) {
    uint8_t* b = out + head - 24;
    put32(b, block->ssrc);
    b[4] = block->fractionLost;
    const auto lost = static_cast<uint32_t>(std::clamp(block->cumulativeLost, -0x800000, 0x7fffff)) & 0xffffff;
    b[5] = static_cast<uint8_t>(lost >> 16);
    b[6] = static_cast<uint8_t>(lost >> 8);
    b[7] = static_cast<uint8_t>(lost);
    put32(b + 8, block->extendedHighest);
    put32(b + 12, block->jitter);
    put32(b + 16, block->lsr);
    put32(b + 20, block->dlsr);
  }
  uint8_t* s = out + head;
  s[0] = 0x81;  // one chunk
  s[1] = kSdes;
  put16(s + 2, static_cast<uint16_t>(sdes / 4 - 1));
  put32(s + 4, sender.ssrc);
  s[8] = kCname;
  s[9] = static_cast<uint8_t>(text);
  std::memcpy(s + 10, cname.data(), text);
  return head + sdes;  // the END item and the padding are the zeros already there
}

// ---- one leg --------------------------------------------------------------------------

LegRtcp::LegRtcp(uint32_t clockRate) : stats_(clockRate), clockRate_(clockRate) {
  std::random_device rd;
  random_.seed(rd());
  rrSsrc_ = rd();
  cname_ = randomCname(rd);
}

int64_t LegRtcp::nextInterval(int64_t base) {
  std::uniform_real_distribution<double> factor(0.5, 1.5);
  return static_cast<int64_t>(static_cast<double>(base) * factor(random_));
}

void LegRtcp::onRtp(const RtpHeader& h, int64_t nowUs, bool timed) {
  stats_.onPacket(h, nowUs, timed);
  fresh_ = true;
}

bool LegRtcp::onRtcp(const uint8_t* data, size_t size, const StreamRewriter& out, int64_t nowUs) {
  return onRtcp(data, size, out, nowUs, ntpFromUnixUs(unixUs()));
}

bool LegRtcp::onRtcp(const uint8_t* data, size_t size, const StreamRewriter& out, int64_t nowUs, uint64_t ntpNow) {
  const std::optional<RtcpInfo> info = parseRtcp(data, size, out.ssrc());
  if (!info) return false;
  if (info->srNtpMiddle) {
    srSeen_ = true;
    srSsrc_ = info->senderSsrc;
    srMiddle_ = *info->srNtpMiddle;
    srArrivalUs_ = nowUs;
  }
  if (!info->aboutUs || !out.started()) return true;
  const ReportBlock& b = *info->aboutUs;
  farSeen_ = true;
  fresh_ = true;
  farJitterMs_ = b.jitter * 1000.0 / clockRate_;
  // The phone counts as lost every sequence number it never got, and the
  // relay passes on the gaps of what it was fed (loss on the other leg, or
  // packets the relay itself dropped): those are not this leg's. What the
  // phone lost beyond them is.
  const int64_t span = out.sequenceSpan();
  const int64_t gaps = std::max<int64_t>(0, span - out.packets());
  const int64_t lost = std::max<int64_t>(0, int64_t{b.cumulativeLost} - gaps);
  farLossPercent_ = span > 0 ? std::min(100.0, 100.0 * static_cast<double>(lost) / static_cast<double>(span)) : 0;
  if (b.lsr != 0) {
    // §6.4.1: RTT = A - LSR - DLSR, in 1/65536 s, A our NTP time now. A
    // result a little below zero is rounding; one beyond a minute answers
    // no SR we sent recently (or the wall clock was stepped).
    const auto rtt = static_cast<int32_t>(ntpMiddle(ntpNow) - b.lsr - b.dlsr);
    if (rtt > -66 && rtt < 60 * 65536) rttMs_ = std::max(0, rtt) * 1000.0 / 65536;
  }
  return true;
}

size_t LegRtcp::report(uint8_t* buf, size_t cap, const StreamRewriter& out, int64_t nowUs) {
  if (nowUs < nextReportUs_) return 0;  // the common case: no clock read
  return report(buf, cap, out, nowUs, ntpFromUnixUs(unixUs()));
}

size_t LegRtcp::report(uint8_t* buf, size_t cap, const StreamRewriter& out, int64_t nowUs, uint64_t ntpNow) {
  if (!stats_.valid() && !out.started()) return 0;  // no stream either way yet: nothing to report
  if (nextReportUs_ == 0) {
    nextReportUs_ = nowUs + nextInterval(kIntervalUs / 2);
    return 0;
  }
  if (nowUs < nextReportUs_) return 0;
  nextReportUs_ = nowUs + nextInterval(kIntervalUs);
  SenderInfo sender;
  sender.sending = out.started();
  if (sender.sending) {
    // The SR's RTP timestamp is the stream's clock now, not at its last
    // packet (§6.4.1: the same instant as the NTP timestamp).
    const int64_t since = std::max<int64_t>(0, nowUs - out.lastSentUs());
    sender.ssrc = out.ssrc();
    sender.ntp = ntpNow;
    sender.rtpTimestamp = out.lastTimestamp() + static_cast<uint32_t>(since * clockRate_ / 1'000'000);
    sender.packets = out.packets();
    sender.octets = out.octets();
  } else {
    sender.ssrc = rrSsrc_;
  }
  std::optional<ReportBlock> block;
  if (stats_.valid()) {
    ReportBlock b;
    b.ssrc = stats_.ssrc();
    b.fractionLost = stats_.takeFractionLost();
    b.cumulativeLost = stats_.cumulativeLost();
    b.extendedHighest = stats_.extendedHighest();
    b.jitter = stats_.jitter();
    if (srSeen_ && srSsrc_ == stats_.ssrc()) {
      b.lsr = srMiddle_;
      b.dlsr = static_cast<uint32_t>((nowUs - srArrivalUs_) * 65536 / 1'000'000);
    }
    block = b;
  }
  return writeReport(buf, cap, sender, block, cname_);
}

std::optional<Quality> LegRtcp::quality() const {
  if (!stats_.valid() && !farSeen_) return std::nullopt;
  // Both directions of the leg: what we measured on its stream and what its
  // reports say about ours. Each figure is the worse direction's, and the
  // MOS the lower of the two directions' (each one listener's experience).
  Quality q;
  q.rttMs = rttMs_;
  q.mos = 4.5;
  if (stats_.valid()) {
    q.lossPercent = stats_.lossPercent();
    q.jitterMs = stats_.jitterMs();
    q.mos = std::min(q.mos, estimateMos(q.lossPercent, q.jitterMs, rttMs_));
  }
  if (farSeen_) {
    q.lossPercent = std::max(q.lossPercent, farLossPercent_);
    q.jitterMs = std::max(q.jitterMs, farJitterMs_);
    q.mos = std::min(q.mos, estimateMos(farLossPercent_, farJitterMs_, rttMs_));
  }
  return q;
}

std::optional<Quality> LegRtcp::qualityDue(int64_t nowUs) {
  if (!fresh_) return std::nullopt;
  if (lastQualityUs_ == 0) {
    lastQualityUs_ = nowUs;  // the first one an interval after the streams start
    return std::nullopt;
  }
  if (nowUs - lastQualityUs_ < kIntervalUs) return std::nullopt;
  std::optional<Quality> q = quality();
  if (!q) return std::nullopt;
  fresh_ = false;
  lastQualityUs_ = nowUs;
  return q;
}

}  // namespace sb::media
