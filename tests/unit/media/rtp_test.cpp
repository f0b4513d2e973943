// The relay's view of RTP (RFC 3550 §5.1) and the rewriter that keeps an
// outgoing stream continuous across source switches (§5.1, §8).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "media/rtp.hpp"

using namespace sb::media;

namespace {

std::vector<uint8_t> packet(uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt = 0, size_t payload = 160) {
  std::vector<uint8_t> p(12 + payload, 0xff);
  writeRtpHeader(p.data(), pt, false, seq, ts, ssrc);
  return p;
}

RtpHeader parsed(const std::vector<uint8_t>& p) {
  auto h = parseRtp(p.data(), p.size());
  REQUIRE(h);
  return *h;
}

// Sends `p` through `w` at `us` and reads back what went out.
RtpHeader through(StreamRewriter& w, std::vector<uint8_t> p, int64_t us) {
  const RtpHeader in = parsed(p);
  w.rewrite(p.data(), in, us);
  return parsed(p);
}

}  // namespace

TEST_CASE("rtp: the fixed header, CSRCs, extension and padding") {
  auto p = packet(1000, 160000, 0xdeadbeef, 8);
  RtpHeader h = parsed(p);
  CHECK(h.sequence == 1000);
  CHECK(h.timestamp == 160000);
  CHECK(h.ssrc == 0xdeadbeef);
  CHECK(h.payloadType == 8);
  CHECK_FALSE(h.marker);
  CHECK(h.headerBytes == 12);
  CHECK(h.payloadBytes == 160);

  // Two CSRCs and a one-word extension (§5.3.1), then 4 bytes of padding.
  std::vector<uint8_t> q = packet(1, 2, 3, 0, 0);
  q[0] = 0x80 | 0x20 | 0x10 | 2;
  q.insert(q.end(), 8, 0);                           // CSRCs
  q.insert(q.end(), {0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4});  // extension header + 1 word
  q.insert(q.end(), 20, 0x55);                        // payload
  q.insert(q.end(), {0, 0, 0, 4});                    // padding, its count last
  h = parsed(q);
  CHECK(h.headerBytes == 12 + 8 + 8);
  CHECK(h.payloadBytes == 20);
}

TEST_CASE("rtp: what is not an RTP packet to relay") {
  CHECK_FALSE(parseRtp(nullptr, 0));
  auto p = packet(1, 2, 3);
  CHECK_FALSE(parseRtp(p.data(), 11));  // shorter than the fixed header
  p[0] = 0x40;                          // version 1
  CHECK_FALSE(parseRtp(p.data(), p.size()));
  p = packet(1, 2, 3, 72);  // RTCP SR on the RTP port (RFC 5761 §4)
  CHECK_FALSE(parseRtp(p.data(), p.size()));
  p = packet(1, 2, 3, 0, 4);
  p[0] |= 0x20;
  p.back() = 200;  // padding longer than the packet
  CHECK_FALSE(parseRtp(p.data(), p.size()));
  p = packet(1, 2, 3, 0, 0);
  p[0] |= 0x0f;  // 15 CSRCs that are not there
  CHECK_FALSE(parseRtp(p.data(), p.size()));
  p = packet(1, 2, 3, 0, 2);
  p[0] |= 0x10;  // an extension header cut short
  CHECK_FALSE(parseRtp(p.data(), p.size()));
}

TEST_CASE("rtp: sequence numbers compare modulo 2^16") {
  CHECK(seqAfter(1, 0));
  CHECK(seqAfter(0, 65535));
  CHECK_FALSE(seqAfter(65535, 0));
  CHECK_FALSE(seqAfter(5, 5));
  CHECK(seqAfter(0x7fff, 0));
  CHECK_FALSE(seqAfter(0x8000, 0));
}

TEST_CASE("rtp rewriter: one source passes unchanged; a new one continues the stream") {
  StreamRewriter w;
  for (uint16_t i = 0; i < 3; ++i) {
    const RtpHeader out = through(w, packet(static_cast<uint16_t>(500 + i), 8000u + 160u * i, 0xaaaa), 20'000 * i);
    CHECK(out.sequence == 500 + i);
    CHECK(out.timestamp == 8000u + 160u * i);
    CHECK(out.ssrc == 0xaaaa);
    CHECK_FALSE(out.marker);
  }
  // 100 ms after the last packet, another source (hold music, a new agent)
  // with its own numbering: the receiver sees the same SSRC, the next
  // sequence number, the timestamp 100 ms (800 samples) on, and the marker.
  RtpHeader out = through(w, packet(9, 123456, 0xbbbb), 40'000 + 100'000);
  CHECK(out.ssrc == 0xaaaa);
  CHECK(out.sequence == 503);
  CHECK(out.timestamp == 8000u + 320u + 800u);
  CHECK(out.marker);
  out = through(w, packet(10, 123456 + 160, 0xbbbb), 160'000);
  CHECK(out.sequence == 504);
  CHECK(out.timestamp == 8000u + 320u + 800u + 160u);
  CHECK_FALSE(out.marker);
  // A late packet of the same source keeps its place; the stream continues
  // from the highest number sent.
  out = through(w, packet(8, 123456 - 160, 0xbbbb), 170'000);
  CHECK(out.sequence == 502);
  out = through(w, packet(11, 123456 + 320, 0xbbbb), 180'000);
  CHECK(out.sequence == 505);
}

TEST_CASE("rtp rewriter: wrap-around, and a switch to a source with the same SSRC") {
  StreamRewriter w;
  through(w, packet(65535, 0xfffffff0u, 7), 0);
  RtpHeader out = through(w, packet(0, 0xfffffff0u + 160, 7), 20'000);
  CHECK(out.sequence == 0);
  CHECK(out.timestamp == static_cast<uint32_t>(0xfffffff0u + 160));
  w.switchSource();  // the relay moved the stream to another feed whose SSRC collides
  out = through(w, packet(40000, 77, 7), 20'000);  // at once: one sample on at least
  CHECK(out.sequence == 1);
  CHECK(out.timestamp == static_cast<uint32_t>(0xfffffff0u + 161));
  CHECK(out.marker);
}
