// In-band DTMF: keys sent as tone pairs in G.711 audio (a leg that negotiated
// no telephone-event) are found by spandsp's receiver, whatever the law, and
// reported by the engine as DigitReceived; the tones still reach the other leg.
#include <doctest/doctest.h>
#include <spandsp.h>

#include <poll.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "media/inband_dtmf.hpp"

using namespace sb::media;
using namespace sb::media::testing;

namespace {

// `keys` as spandsp's DTMF generator makes them (its defaults: 50 ms tones,
// 55 ms pauses, Q.23 levels), then `tailPackets` of silence, in 20 ms G.711
// payloads of payload type `pt`.
std::vector<std::vector<uint8_t>> toneFrames(const char* keys, uint8_t pt, int tailPackets = 10) {
  dtmf_tx_state_t* tx = dtmf_tx_init(nullptr);
  REQUIRE(tx);
  dtmf_tx_put(tx, keys, -1);
  std::vector<std::vector<uint8_t>> frames;
  int silent = 0;
  while (silent < tailPackets) {
    int16_t amp[160] = {};
    const int n = dtmf_tx(tx, amp, 160);
    if (n == 0) ++silent;
    std::vector<uint8_t> payload(160);
    for (int i = 0; i < 160; ++i) payload[i] = pt == 0 ? linear_to_ulaw(amp[i]) : linear_to_alaw(amp[i]);
    frames.push_back(std::move(payload));
  }
  dtmf_tx_free(tx);
  return frames;
}

}  // namespace

TEST_CASE("in-band DTMF: every key found once, in PCMU and in PCMA; speech-free silence finds none") {
  for (const uint8_t pt : {uint8_t{0}, uint8_t{8}}) {
    InbandDtmf rx;
    std::string found;
    for (const auto& f : toneFrames("0123456789*#ABCD", pt)) found += rx.feed(pt, f.data(), f.size());
    CHECK_MESSAGE(found == "0123456789*#ABCD", "payload type " << int(pt));
  }
  InbandDtmf rx;
  const std::vector<uint8_t> quiet(160, 0xff);
  std::string found;
  for (int i = 0; i < 100; ++i) found += rx.feed(0, quiet.data(), quiet.size());
  CHECK(found.empty());
}

TEST_CASE("media engine: a leg without telephone-event has its tones reported as digits and relayed as audio") {
  std::mutex m;
  std::condition_variable cv;
  std::string keys;
  Call call(config(32620), [&](const MediaFact& f) {
    std::lock_guard lock(m);
    if (const auto* d = std::get_if<DigitReceived>(&f)) keys.push_back(d->digit);
    cv.notify_all();
  });
  call.engine.remote(2, call.agent.self(), 0, true, 101);  // the agent's phone sends telephone-events instead
  call.engine.sync([] {});
  int i = 0, relayed = 0;
  for (const auto& f : toneFrames("42#", 0)) {
    auto p = rtp(static_cast<uint16_t>(i), static_cast<uint32_t>(160 * i), 0xc0c0);
    std::copy(f.begin(), f.end(), p.begin() + 12);
    p[1] = 0;
    call.customer.send(call.customerPort, p);
    if (auto got = call.agent.receive(); got && std::equal(f.begin(), f.end(), got->begin() + 12)) ++relayed;
    ++i;
  }
  std::unique_lock lock(m);
  CHECK(cv.wait_for(lock, std::chrono::seconds(2), [&] { return keys.size() >= 3; }));
  CHECK(keys == "42#");
  CHECK(relayed == i);  // the tones themselves go on to the agent untouched
  lock.unlock();
  call.engine.sync([] {});
  CHECK(call.engine.counters().inbandDigits == 3);
}
