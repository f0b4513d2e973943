// The mixer over real loopback sockets: a supervisor's leg hearing the
// customer and the agent summed (listen), the agent hearing the customer and
// the supervisor while the customer still gets the agent relayed untouched
// (whisper), and back to the plain relay, each listener's stream one RTP
// stream throughout (RFC 3550 §5.1).
#include <doctest/doctest.h>
#include <spandsp.h>

#include <poll.h>

#include <algorithm>
#include <map>

#include "loopback.hpp"

using namespace sb::media;
using namespace sb::media::testing;

namespace {

constexpr uint8_t kCustomerByte = 0x90, kAgentByte = 0xa0, kSupervisorByte = 0xb0;

uint8_t mixed(std::initializer_list<uint8_t> codes) {
  int sum = 0;
  for (uint8_t c : codes) sum += ulaw_to_linear(c);
  return linear_to_ulaw(std::clamp(sum, -32768, 32767));
}

std::vector<uint8_t> packet(uint8_t byte, int i, uint32_t ssrc) {
  auto p = rtp(static_cast<uint16_t>(i), static_cast<uint32_t>(160 * i), ssrc);
  std::fill(p.begin() + 12, p.end(), byte);
  p[1] = 0;  // PCMU
  return p;
}

// What one phone got during a run: how many packets carried each payload
// byte (all 160 the same), and the SSRCs seen.
struct Heard {
  std::map<uint8_t, int> byByte;
  std::vector<uint32_t> ssrcs;
  void drain(const Phone& p) {
    while (auto d = p.receive(0)) {
      if (d->size() != 12 + 160) continue;
      const auto h = parseRtp(d->data(), d->size());
      REQUIRE(h);
      if (std::find(ssrcs.begin(), ssrcs.end(), h->ssrc) == ssrcs.end()) ssrcs.push_back(h->ssrc);
      if (std::all_of(d->begin() + 12, d->end(), [&](uint8_t b) { return b == (*d)[12]; })) ++byByte[(*d)[12]];
    }
  }
};

struct Supervised : Call {
  Phone supervisor;
  uint16_t supervisorPort = 0;
  explicit Supervised(EngineConfig c) : Call(c) {
    supervisorPort = *engine.endpoint(3);
    engine.remote(3, supervisor.self(), 0, true);
    engine.sync([] {});
  }
  // `packets` of 20 ms from each of the three phones; what each heard.
  void run(int packets, Heard& customerHeard, Heard& agentHeard, Heard& supervisorHeard) {
    for (int i = 0; i < packets; ++i) {
      customer.send(customerPort, packet(kCustomerByte, i, 0xc0c0));
      agent.send(agentPort, packet(kAgentByte, i, 0xa9e7));
      supervisor.send(supervisorPort, packet(kSupervisorByte, i, 0x5e7));
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 20);  // a phone's pace; the mixer runs on its own clock
      customerHeard.drain(customer);
      agentHeard.drain(agent);
      supervisorHeard.drain(supervisor);
    }
  }
};

}  // namespace

TEST_CASE("media mixer: listen, whisper and back to the relay, each stream continuous") {
  Supervised call(config(32200));
  Heard c0, a0, s0;
  call.run(10, c0, a0, s0);
  CHECK(s0.byByte.empty());  // nobody mixes for the supervisor yet
  CHECK(a0.byByte[kCustomerByte] >= 8);

  // Listen: the supervisor hears both sides summed; the call itself is relayed as before.
  call.engine.mix(3, {{1, 1.0f}, {2, 1.0f}});
  call.engine.sync([] {});
  Heard c1, a1, s1;
  call.run(40, c1, a1, s1);
  CHECK(s1.byByte[mixed({kCustomerByte, kAgentByte})] >= 30);
  CHECK(s1.byByte[kSupervisorByte] == 0);  // a leg never hears itself
  CHECK(s1.ssrcs.size() == 1);
  CHECK(a1.byByte[kCustomerByte] >= 35);
  CHECK(c1.byByte[kAgentByte] >= 35);
  CHECK(a1.byByte[kSupervisorByte] == 0);

  // Whisper: the agent hears the customer and the supervisor; the customer
  // still hears the agent alone, relayed.
  call.engine.mix(2, {{1, 1.0f}, {3, 1.0f}});
  call.engine.sync([] {});
  Heard c2, a2, s2;
  call.run(40, c2, a2, s2);
  CHECK(a2.byByte[mixed({kCustomerByte, kSupervisorByte})] >= 30);
  CHECK(a2.byByte[kCustomerByte] <= 3);  // the relay from the customer gave way to the mix
  CHECK(c2.byByte[kAgentByte] >= 35);
  CHECK(c2.byByte[kSupervisorByte] == 0);
  CHECK(s2.byByte[mixed({kCustomerByte, kAgentByte})] >= 30);
  // The agent's stream is one stream from the relay into the mix.
  CHECK(a2.ssrcs == a1.ssrcs);

  // Back to the relay: the agent hears the customer's own packets again.
  call.engine.mix(2, {});
  call.engine.mix(3, {});
  call.engine.sync([] {});
  Heard c3, a3, s3;
  call.run(15, c3, a3, s3);
  CHECK(a3.byByte[kCustomerByte] >= 12);
  CHECK(a3.ssrcs == a1.ssrcs);
  CHECK(s3.byByte.size() <= 1);  // at most the tail of the last tick
}

TEST_CASE("media mixer: a closed source is silence; a closed listener stops the clock's work") {
  Supervised call(config(32260));
  call.engine.mix(3, {{1, 1.0f}, {2, 1.0f}});
  call.engine.sync([] {});
  Heard c0, a0, s0;
  call.run(20, c0, a0, s0);
  CHECK(s0.byByte[mixed({kCustomerByte, kAgentByte})] >= 12);
  call.engine.close(2);  // the agent's leg is gone: the supervisor hears the customer alone
  call.engine.sync([] {});
  Heard c1, a1, s1;
  call.run(20, c1, a1, s1);
  CHECK(s1.byByte[kCustomerByte] >= 12);
  call.engine.close(3);
  call.engine.sync([] {});
  // The mix's last tick before the close may already sit in the supervisor's
  // socket (sync returns once the media thread has closed the leg, so every
  // packet sent before is delivered on loopback): that one is not a leak.
  Heard beforeClose;
  beforeClose.drain(call.supervisor);
  Heard c2, a2, s2;
  call.run(5, c2, a2, s2);
  CHECK(s2.byByte.empty());
}
