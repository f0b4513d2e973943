// RTCP terminated per leg (RFC 3550 §6, Appendix A): the receiver statistics
// of the stream a leg sends us, our compound report, the leg's reports read
// back (and refused when malformed), and the round-trip time from LSR/DLSR.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "media/rtcp.hpp"

using namespace sb::media;

namespace {

constexpr int64_t kFrameUs = 20'000;  // 20 ms of G.711: 160 timestamp units

RtpHeader header(uint16_t seq, uint32_t ts, uint32_t ssrc) {
  RtpHeader h;
  h.sequence = seq;
  h.timestamp = ts;
  h.ssrc = ssrc;
  h.payloadBytes = 160;
  return h;
}

// Packets seq first..last (each 20 ms apart, on time), without those `skip` says.
template <typename Skip>
void stream(ReceiverStats& s, uint16_t first, int count, uint32_t ssrc, Skip skip, int64_t startUs = 1'000'000) {
  for (int i = 0; i < count; ++i) {
    const auto seq = static_cast<uint16_t>(first + i);
    if (skip(seq)) continue;
    s.onPacket(header(seq, static_cast<uint32_t>(160 * i), ssrc), startUs + i * kFrameUs);
  }
}

// A stream our endpoint sends, `count` packets through the rewriter (the
// feed's sequence numbers skipping those `gap` says: loss before us).
template <typename Gap>
void send(StreamRewriter& out, int count, uint32_t ssrc, Gap gap, std::vector<RtpHeader>* sent = nullptr) {
  for (int i = 0; i < count; ++i) {
    if (gap(i)) continue;
    std::vector<uint8_t> p(12 + 160, 0xff);
    writeRtpHeader(p.data(), 0, false, static_cast<uint16_t>(100 + i), static_cast<uint32_t>(160 * i), ssrc);
    RtpHeader h = *parseRtp(p.data(), p.size());
    out.rewrite(p.data(), h, 1'000'000 + i * kFrameUs);
    if (sent) sent->push_back(*parseRtp(p.data(), p.size()));
  }
}

const auto none = [](auto) { return false; };

}  // namespace

TEST_CASE("rtcp: loss from the extended highest sequence number (A.1, A.3)") {
  ReceiverStats s;
  // 1..201, every 10th missing. The first packet is the source's probation
  // (A.1: valid after two in sequence), so counting starts at 2: 200
  // expected, 20 lost.
  stream(s, 1, 201, 0xA11CE, [](uint16_t seq) { return seq % 10 == 0; });
  REQUIRE(s.valid());
  CHECK(s.ssrc() == 0xA11CE);
  CHECK(s.extendedHighest() == 201);
  CHECK(s.expected() == 200);
  CHECK(s.lost() == 20);
  CHECK(s.cumulativeLost() == 20);
  CHECK(s.lossPercent() == doctest::Approx(10.0));
  CHECK(s.takeFractionLost() == 25);  // 20/200 in 1/256
  CHECK(s.takeFractionLost() == 0);   // nothing new since
  CHECK(s.jitter() == 0);             // all on time
}

TEST_CASE("rtcp: sequence numbers wrap; duplicates and reordering lose nothing") {
  ReceiverStats s;
  stream(s, 65530, 30, 7, none);
  CHECK(s.extendedHighest() == 65536 + 23);
  CHECK(s.lost() == 0);
  s.onPacket(header(20, 0, 7), 2'000'000);  // a duplicate from before
  CHECK(s.cumulativeLost() == -1);          // A.3: negative with duplicates
  CHECK(s.lossPercent() == 0.0);            // but never a negative share
  CHECK(s.extendedHighest() == 65536 + 23);
}

TEST_CASE("rtcp: a new SSRC is a new source, the old one's loss still counted") {
  ReceiverStats s;
  stream(s, 1, 101, 1, [](uint16_t seq) { return seq % 10 == 0; });  // 100 expected, 10 lost
  stream(s, 5000, 101, 2, none, 5'000'000);                         // 100 expected, none lost
  CHECK(s.ssrc() == 2);
  CHECK(s.expected() == 200);
  CHECK(s.lost() == 10);
  CHECK(s.cumulativeLost() == 0);  // the report block is the current source's
  CHECK(s.lossPercent() == doctest::Approx(5.0));
}

TEST_CASE("rtcp: a sender that restarts its numbering is followed after two packets (A.1)") {
  ReceiverStats s;
  stream(s, 1, 51, 3, none);
  s.onPacket(header(40000, 9000, 3), 3'000'000);  // one stray jump: not counted
  CHECK(s.extendedHighest() == 51);
  s.onPacket(header(40001, 9160, 3), 3'020'000);  // its successor: a restart
  s.onPacket(header(40002, 9320, 3), 3'040'000);
  CHECK(s.extendedHighest() == 40002);
  CHECK(s.expected() == 50 + 2);
  CHECK(s.lost() == 0);
}

TEST_CASE("rtcp: interarrival jitter (A.8)") {
  ReceiverStats s;
  // Every other packet 10 ms late: |D| is 80 units each time, and J runs to it.
  for (int i = 0; i < 400; ++i) {
    const int64_t late = (i % 2) ? 10'000 : 0;
    s.onPacket(header(static_cast<uint16_t>(i), static_cast<uint32_t>(160 * i), 9), 1'000'000 + i * kFrameUs + late);
  }
  CHECK(s.jitter() == doctest::Approx(80).epsilon(0.02));
  CHECK(s.jitterMs() == doctest::Approx(10.0).epsilon(0.02));
  CHECK(s.lost() == 0);

  // Telephone-events repeat their start's timestamp (RFC 4733): not jitter.
  ReceiverStats d;
  for (int i = 0; i < 50; ++i) d.onPacket(header(static_cast<uint16_t>(i), 8000, 9), 1'000'000 + i * 50'000, false);
  CHECK(d.jitter() == 0);
  CHECK(d.expected() == 49);
}

TEST_CASE("rtcp: our compound SR + SDES, read back") {
  SenderInfo sender{true, 0x5EA7, ntpFromUnixUs(1'700'000'000'250'000), 123456, 500, 80000};
  ReportBlock block{0xA11CE, 25, 20, 201, 80, 0x12345678, 0x00010000};
  uint8_t buf[LegRtcp::kMaxReportBytes];
  const size_t n = writeReport(buf, sizeof buf, sender, block, "abcdefghijklmnop");
  REQUIRE(n == 28 + 24 + 28);  // SR with its block, SDES: header, SSRC, CNAME item, END, padding
  CHECK(n % 4 == 0);
  CHECK(buf[0] == 0x81);  // V=2, one report block
  CHECK(buf[1] == 200);
  CHECK(buf[52 + 1] == 202);  // SDES follows
  CHECK(buf[52 + 8] == 1);    // CNAME
  CHECK(buf[52 + 9] == 16);

  const auto info = parseRtcp(buf, n, 0xA11CE);
  REQUIRE(info);
  CHECK(info->senderSsrc == 0x5EA7);
  REQUIRE(info->srNtpMiddle);
  CHECK(*info->srNtpMiddle == ntpMiddle(sender.ntp));
  REQUIRE(info->aboutUs);
  CHECK(info->aboutUs->fractionLost == 25);
  CHECK(info->aboutUs->cumulativeLost == 20);
  CHECK(info->aboutUs->extendedHighest == 201);
  CHECK(info->aboutUs->jitter == 80);
  CHECK(info->aboutUs->lsr == 0x12345678);
  CHECK(info->aboutUs->dlsr == 0x00010000);
  CHECK_FALSE(parseRtcp(buf, n, 0xB0B)->aboutUs);  // a block about someone else's stream

  // An RR: no sender info; a negative cumulative loss survives its 24 bits.
  block.cumulativeLost = -3;
  const size_t rr = writeReport(buf, sizeof buf, SenderInfo{false, 0x77}, block, "x");
  REQUIRE(rr == 8 + 24 + 12);
  CHECK(buf[1] == 201);
  const auto back = parseRtcp(buf, rr, 0xA11CE);
  REQUIRE(back);
  CHECK_FALSE(back->srNtpMiddle);
  CHECK(back->aboutUs->cumulativeLost == -3);
  CHECK(writeReport(buf, 40, sender, block, "abcdefghijklmnop") == 0);  // does not fit: nothing written
}

TEST_CASE("rtcp: malformed compound packets are refused, never read past") {
  uint8_t good[LegRtcp::kMaxReportBytes];
  const size_t n = writeReport(good, sizeof good, SenderInfo{true, 1, 2, 3, 4, 5},
                               ReportBlock{9, 0, 0, 0, 0, 0, 0}, "cname");
  REQUIRE(parseRtcp(good, n, 9));
  const auto with = [&](auto edit, size_t size = 0) {
    std::vector<uint8_t> p(good, good + n);
    edit(p);
    return parseRtcp(p.data(), size ? size : p.size(), 9).has_value();
  };
  CHECK_FALSE(parseRtcp(nullptr, 0, 9));
  CHECK_FALSE(parseRtcp(good, 4, 9));                                 // shorter than a header and SSRC
  CHECK_FALSE(parseRtcp(good, n - 4, 9));                             // truncated: SDES's length runs past the end
  CHECK_FALSE(parseRtcp(good, 30, 9));                                // truncated inside the SR
  CHECK_FALSE(with([](auto& p) { p[0] = (p[0] & 0x3f) | 0x40; }));    // version 1
  CHECK_FALSE(with([](auto& p) { p[52] = (p[52] & 0x3f); }));         // the SDES in version 0
  CHECK_FALSE(with([](auto& p) { p[2] = 0xff, p[3] = 0xff; }));       // length overflow
  CHECK_FALSE(with([](auto& p) { p[0] = 0x80 | 3; }));                // three blocks announced, one there
  CHECK_FALSE(with([](auto& p) { p[1] = 202; }));                     // starts with SDES (§6.1)
  CHECK_FALSE(with([](auto& p) { p[0] |= 0x20; }));                   // padding on a packet that is not the last
  CHECK_FALSE(with([](auto& p) { p[52] |= 0x20, p.back() = 0; }));    // padding count 0
  CHECK_FALSE(with([](auto& p) { p[52] |= 0x20, p.back() = 200; }));  // padding longer than the packet
  CHECK(with([](auto& p) { p.insert(p.end(), {0x81, 203, 0, 1, 0, 0, 0, 1}); }));  // a BYE after: fine
  CHECK_FALSE(with([](auto& p) { p.insert(p.end(), {0x81, 203, 0, 1, 0, 0}); }));  // a BYE cut short

  // Random bytes and random cuts of a good packet: refused or read, never a
  // read out of bounds (the ASan build would stop here).
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> p(rng() % 120);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    if (p.size() >= 2 && (i % 2)) p[0] = static_cast<uint8_t>(0x80 | (p[0] & 0x3f)), p[1] = 200 + (rng() % 2);
    (void)parseRtcp(p.data(), p.size(), 9);
    (void)parseRtcp(good, rng() % (n + 1), 9);
  }
  LegRtcp leg;
  StreamRewriter out;
  CHECK_FALSE(leg.onRtcp(good, 7, out, 1'000'000));
  CHECK_FALSE(leg.quality());
}

TEST_CASE("rtcp: an SR and the phone's RR about it give the round-trip time and the phone's loss (§6.4.1)") {
  // Our endpoint (us) sends the phone 100 packets of which the phone gets
  // 95; the phone's stream to us is clean. us's SR reaches the phone, which
  // answers 500 ms later with its report block about our stream; that
  // reaches us 20 ms after our SR left.
  LegRtcp us, phone;
  StreamRewriter usOut, phoneOut;
  std::vector<RtpHeader> sent;
  send(usOut, 100, 0xC0FFEE, none, &sent);
  for (size_t i = 0; i < sent.size(); ++i)
    if (i % 20 != 7) phone.onRtp(sent[i], 1'000'000 + static_cast<int64_t>(i) * kFrameUs);
  std::vector<RtpHeader> back;
  send(phoneOut, 100, 0xA11CE, none, &back);
  for (size_t i = 0; i < back.size(); ++i) us.onRtp(back[i], 1'000'000 + static_cast<int64_t>(i) * kFrameUs);

  uint8_t buf[LegRtcp::kMaxReportBytes];
  const uint64_t t0 = ntpFromUnixUs(1'700'000'000'000'000);
  CHECK(us.report(buf, sizeof buf, usOut, 3'000'000, t0) == 0);  // the first report is scheduled, not sent
  CHECK(phone.report(buf, sizeof buf, phoneOut, 3'000'000, t0) == 0);
  const size_t sr = us.report(buf, sizeof buf, usOut, 20'000'000, t0);
  REQUIRE(sr > 0);
  CHECK(buf[1] == 200);
  CHECK(us.report(buf, sizeof buf, usOut, 20'000'001, t0) == 0);  // not again at once
  REQUIRE(phone.onRtcp(buf, sr, phoneOut, 20'010'000, t0));
  const size_t rr = phone.report(buf, sizeof buf, phoneOut, 20'510'000, t0);  // the phone's own clock: any
  REQUIRE(rr > 0);
  const auto info = parseRtcp(buf, rr, 0xC0FFEE);
  REQUIRE(info);
  REQUIRE(info->aboutUs);
  CHECK(info->aboutUs->cumulativeLost == 5);
  CHECK(info->aboutUs->dlsr == doctest::Approx(0.5 * 65536).epsilon(0.001));

  REQUIRE(us.onRtcp(buf, rr, usOut, 20'520'000, ntpFromUnixUs(1'700'000'000'520'000)));
  const auto q = us.quality();
  REQUIRE(q);
  CHECK(q->rttMs == doctest::Approx(20.0).epsilon(0.01));
  CHECK(q->lossPercent == doctest::Approx(5.0));  // the worse direction: ours as the phone saw it
  CHECK(q->jitterMs == doctest::Approx(0.0));
  CHECK(q->mos < 4.0);
}

TEST_CASE("rtcp: gaps the relay passed on are not the leg's loss") {
  // Our feed (the other leg) lost every 10th packet before it reached us;
  // the phone reports those as lost, and they are subtracted.
  LegRtcp us;
  StreamRewriter usOut;
  std::vector<RtpHeader> sent;
  send(usOut, 100, 0xC0FFEE, [](int i) { return i % 10 == 5; }, &sent);
  CHECK(usOut.packets() == 90);
  CHECK(usOut.sequenceSpan() == 100);
  ReceiverStats phone;
  for (size_t i = 0; i < sent.size(); ++i) phone.onPacket(sent[i], 1'000'000 + static_cast<int64_t>(i) * kFrameUs);
  ReportBlock b{0xC0FFEE, phone.takeFractionLost(), phone.cumulativeLost(), phone.extendedHighest(), 0, 0, 0};
  CHECK(b.cumulativeLost == 10);
  uint8_t buf[LegRtcp::kMaxReportBytes];
  const size_t rr = writeReport(buf, sizeof buf, SenderInfo{false, 0xA11CE}, b, "phone");
  REQUIRE(us.onRtcp(buf, rr, usOut, 5'000'000, 0));
  const auto q = us.quality();
  REQUIRE(q);
  CHECK(q->lossPercent == doctest::Approx(0.0));
  CHECK(q->rttMs == -1);  // never measured: the RR had no LSR
  CHECK(q->mos > 4.3);
}

TEST_CASE("rtcp: reports are paced, and quality comes at most every interval") {
  LegRtcp leg;
  StreamRewriter out;
  uint8_t buf[LegRtcp::kMaxReportBytes];
  CHECK(leg.report(buf, sizeof buf, out, 1'000'000, 0) == 0);  // nothing either way yet
  CHECK_FALSE(leg.qualityDue(1'000'000));
  for (int i = 0; i < 10; ++i) leg.onRtp(header(static_cast<uint16_t>(i), 160u * i, 5), 1'000'000 + i * kFrameUs);
  int64_t now = 2'000'000;
  CHECK(leg.report(buf, sizeof buf, out, now, 0) == 0);  // scheduled: within 1.25-3.75 s
  CHECK(leg.report(buf, sizeof buf, out, now + 1'249'000, 0) == 0);
  const size_t n = leg.report(buf, sizeof buf, out, now + 3'750'000, 0);
  REQUIRE(n > 0);
  CHECK(buf[1] == 201);  // we have sent nothing: an RR
  CHECK(parseRtcp(buf, n, 5)->aboutUs->extendedHighest == 9);
  // The next one 2.5-7.5 s on.
  now += 3'750'000;
  CHECK(leg.report(buf, sizeof buf, out, now + 2'499'000, 0) == 0);
  CHECK(leg.report(buf, sizeof buf, out, now + 7'500'000, 0) > 0);

  CHECK_FALSE(leg.qualityDue(2'000'000));  // the first an interval after the stream started
  CHECK_FALSE(leg.qualityDue(6'000'000));
  const auto q = leg.qualityDue(7'000'000);
  REQUIRE(q);
  CHECK(q->lossPercent == 0);
  CHECK(q->mos == doctest::Approx(4.39).epsilon(0.01));
  CHECK_FALSE(leg.qualityDue(20'000'000));  // nothing new came in
  leg.onRtp(header(10, 1600, 5), 20'000'000);
  CHECK(leg.qualityDue(20'000'000));
}
