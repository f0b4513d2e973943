// The engine terminates RTCP per leg (RFC 3550 §6; lib/media/rtcp.hpp): a
// leg's reports are read, not relayed; each endpoint sends the leg its own
// SR about the stream it sends it, with a report block about the leg's; a
// malformed packet is dropped and counted; and the leg's quality is reported
// once more when its endpoint closes.
#include <doctest/doctest.h>

#include <chrono>

#include <mutex>
#include <vector>

#include "loopback.hpp"
#include "media/rtcp.hpp"

using namespace sb::media;
using namespace sb::media::testing;

TEST_CASE("media engine: RTCP per leg, our SR out, the leg's RR in, the quality at close") {
  std::mutex m;
  std::vector<QualityReport> reports;
  Call call(config(32400), [&](const MediaFact& f) {
    std::lock_guard lock(m);
    if (const auto* q = std::get_if<QualityReport>(&f)) reports.push_back(*q);
  });
  Phone customerRtcp;  // elsewhere than RTP + 1 (a=rtcp, RFC 3605)
  call.engine.remote(1, call.customer.self(), customerRtcp.port, true);
  call.engine.sync([] {});
  for (uint16_t i = 0; i < 20; ++i) {
    call.customer.send(call.customerPort, rtp(static_cast<uint16_t>(100 + i), 160u * i, 0x1111));
    REQUIRE(call.agent.receive());
    call.agent.send(call.agentPort, rtp(static_cast<uint16_t>(500 + i), 160u * i, 0x2222));
    REQUIRE(call.customer.receive());
  }
  // The agent's report is consumed by its own endpoint: the customer gets
  // none of it, only its endpoint's own report, within the first interval
  // (1.25-3.75 s, on the engine's 1 s tick).
  call.agent.send(static_cast<uint16_t>(call.agentPort + 1), {0x80, 201, 0, 1, 0, 0, 0x22, 0x22});
  sockaddr_in from{};
  auto sr = customerRtcp.receive(6000, &from);
  REQUIRE(sr);
  CHECK(ntohs(from.sin_port) == call.customerPort + 1);
  REQUIRE(sr->size() >= 2);
  CHECK((*sr)[1] == 200);  // an SR: the endpoint sends the customer the agent's stream
  const auto info = parseRtcp(sr->data(), sr->size(), 0x1111);
  REQUIRE(info);
  CHECK(info->senderSsrc == 0x2222);  // the stream the customer hears
  REQUIRE(info->srNtpMiddle);
  REQUIRE(info->aboutUs);  // its block about the customer's stream
  CHECK(info->aboutUs->extendedHighest == 119);
  CHECK(info->aboutUs->cumulativeLost == 0);
  CHECK(sr->size() >= 28 + 24 + 8);

  // The customer's RR about our stream answers the SR at once (DLSR 0).
  const uint64_t dropped = call.engine.counters().packetsDropped;
  uint8_t rr[LegRtcp::kMaxReportBytes];
  const ReportBlock block{0x2222, 0, 0, 519, 0, *info->srNtpMiddle, 0};
  const size_t n = writeReport(rr, sizeof rr, SenderInfo{false, 0x1111}, block, "customer");
  customerRtcp.send(static_cast<uint16_t>(call.customerPort + 1), std::vector<uint8_t>(rr, rr + n));
  // Then a malformed packet from the same address: dropped, counted. The
  // socket is read in order, so once it is counted the RR has been read too
  // (awaited: on a loaded host the engine may read them after a sync or two).
  customerRtcp.send(static_cast<uint16_t>(call.customerPort + 1), {0x81, 200, 0xff, 0xff, 1, 2, 3, 4});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (call.engine.counters().packetsDropped == dropped && std::chrono::steady_clock::now() < deadline)
    call.engine.sync([] {});
  CHECK(call.engine.counters().packetsDropped == dropped + 1);

  call.engine.close(1);
  call.engine.sync([] {});
  std::lock_guard lock(m);
  REQUIRE_FALSE(reports.empty());
  const QualityReport& last = reports.back();
  CHECK(last.leg == 1);
  CHECK(last.final);
  CHECK(last.lossPercent == 0);
  CHECK(last.rttMs >= 0);
  CHECK(last.rttMs < 1000);  // loopback: the SR's way out and the RR's back (and this test's steps)
  CHECK(last.mos > 4.0);
}
