// The media engine relaying real UDP packets on loopback: two "phones" (plain
// sockets) each talking to their leg's endpoint, as a bridged call's phone and
// PBX would. Every wait is a poll() on a socket or a future with a deadline,
// never a sleep.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "media/clip.hpp"
#include "media/engine.hpp"
#include "media/port_pool.hpp"
#include "media/rtp.hpp"
#include "loopback.hpp"

using namespace sb::media;

using namespace sb::media::testing;

TEST_CASE("media port pool: even ports with RTCP above, round-robin, exhaustion") {
  PortPool pool("127.0.0.1", 31001, 31006);  // odd bounds move inwards: 31002, 31004, 31006
  CHECK(pool.capacity() == 3);
  auto a = pool.open();
  auto b = pool.open();
  auto c = pool.open();
  REQUIRE((a && b && c));
  CHECK(a->port == 31002);
  CHECK(b->port == 31004);
  CHECK(c->port == 31006);
  CHECK_FALSE(pool.open());
  pool.close(*a);
  CHECK(pool.inUse() == 2);
  auto d = pool.open();
  REQUIRE(d);
  CHECK(d->port == 31002);  // the only one free
  for (auto* p : {&*b, &*c, &*d}) pool.close(*p);
  CHECK(pool.inUse() == 0);
  CHECK_THROWS(PortPool("127.0.0.1", 31001, 31001));
}

TEST_CASE("media engine: a bridged call's packets are relayed both ways, unchanged") {
  Call call(config(31100));
  CHECK(call.customerPort != call.agentPort);
  call.customer.send(call.customerPort, rtp(100, 16000, 0x1111));
  sockaddr_in from{};
  auto got = call.agent.receive(2000, &from);
  REQUIRE(got);
  CHECK(*got == rtp(100, 16000, 0x1111));
  CHECK(ntohs(from.sin_port) == call.agentPort);  // from the agent's own endpoint (symmetric RTP)
  call.agent.send(call.agentPort, rtp(7, 320, 0x2222));
  got = call.customer.receive();
  REQUIRE(got);
  CHECK(*got == rtp(7, 320, 0x2222));
  // RTCP is not relayed: each endpoint terminates it (engine_rtcp_test.cpp).
  call.engine.sync([] {});  // the count is taken just after the send the phone saw
  CHECK(call.engine.counters().packetsRelayed == 2);
}

TEST_CASE("media engine: a transfer re-pairs the customer; its stream stays one RTP stream") {
  Call call(config(31200));
  call.customer.send(call.customerPort, rtp(1, 160, 0xc0c0));
  REQUIRE(call.agent.receive());
  call.agent.send(call.agentPort, rtp(50, 8000, 0xa1a1));
  REQUIRE(call.customer.receive());
  // A second agent takes the customer.
  Phone second;
  const uint16_t secondPort = *call.engine.endpoint(3);
  call.engine.remote(3, second.self(), 0, true);
  call.engine.pair(1, 3);
  call.engine.sync([] {});
  call.customer.send(call.customerPort, rtp(2, 320, 0xc0c0));
  REQUIRE(second.receive());
  CHECK_FALSE(call.agent.receive(200));  // the first agent hears nothing more
  second.send(secondPort, rtp(9000, 999999, 0xb2b2));
  auto got = call.customer.receive();
  REQUIRE(got);
  const auto h = parseRtp(got->data(), got->size());
  REQUIRE(h);
  CHECK(h->ssrc == 0xa1a1);  // the customer's stream keeps its SSRC
  CHECK(h->sequence == 51);  // and runs on
  CHECK(h->marker);
  // The first agent's phone, still sending, reaches nobody.
  const auto before = call.engine.counters().packetsDropped;
  call.agent.send(call.agentPort, rtp(51, 8160, 0xa1a1));
  REQUIRE(call.customer.receive(300) == std::nullopt);
  call.engine.sync([] {});
  CHECK(call.engine.counters().packetsDropped == before + 1);
}

TEST_CASE("media engine: symmetric RTP latches a phone behind NAT, then strangers are dropped") {
  Call call(config(31300));
  // The agent's phone sends from another port than its SDP said (a NAT).
  Phone natted;
  natted.send(call.agentPort, rtp(1, 160, 0xaaaa));
  REQUIRE(call.customer.receive());
  call.customer.send(call.customerPort, rtp(1, 160, 0xcccc));
  REQUIRE(natted.receive());                  // latched: the answer goes where it came from
  CHECK_FALSE(call.agent.receive(200));        // not to the SDP's address
  // Once latched, another source (RTP bleed) is dropped.
  Phone stranger;
  stranger.send(call.agentPort, rtp(2, 320, 0xeeee));
  CHECK_FALSE(call.customer.receive(300));
  call.engine.sync([] {});
  CHECK(call.engine.counters().strangerPackets == 1);
}

TEST_CASE("media engine: after the latch window only the signalled address latches") {
  EngineConfig c = config(31400);
  c.latchWindowMs = 0;
  Call call(c);
  Phone stranger;
  stranger.send(call.agentPort, rtp(1, 160, 0xeeee));
  CHECK_FALSE(call.customer.receive(300));
  call.agent.send(call.agentPort, rtp(1, 160, 0xaaaa));
  CHECK(call.customer.receive());
  call.engine.sync([] {});
  CHECK(call.engine.counters().strangerPackets == 1);
}

TEST_CASE("media engine: a stream that should flow and goes silent is reported once; a held one is not") {
  std::mutex m;
  std::condition_variable cv;
  std::vector<LegId> timedOut;
  Call call(config(31500, 1), [&](const MediaFact& f) {
    std::lock_guard lock(m);
    if (const auto* t = std::get_if<StreamTimedOut>(&f)) timedOut.push_back(t->leg);
    cv.notify_all();
  });
  // The agent's side holds the call (sends nothing by its SDP): never timed out.
  call.engine.remote(2, call.agent.self(), 0, false);
  // The customer's side sends once, then goes silent.
  call.customer.send(call.customerPort, rtp(1, 160, 0xc0c0));
  REQUIRE(call.agent.receive());
  std::unique_lock lock(m);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !timedOut.empty(); }));
  CHECK(timedOut == std::vector<LegId>{1});
  lock.unlock();
  call.engine.sync([] {});
  CHECK(call.engine.counters().streamTimeouts == 1);
}

TEST_CASE("media engine: a closed leg's port is given back; packets to it go nowhere") {
  Call call(config(31600));
  call.engine.close(2);
  CHECK(call.engine.openEndpoints() == 1);
  call.engine.sync([] {});
  call.customer.send(call.customerPort, rtp(1, 160, 0xc0c0));
  CHECK_FALSE(call.agent.receive(300));
  // The port is free again: a new endpoint may take it.
  CHECK(call.engine.endpoint(4).has_value());
  call.engine.stop();
  CHECK(call.engine.openEndpoints() == 2);  // the SIP side's view; the sockets are closed with the loop
}

TEST_CASE("media engine: a muted leg reaches its peer as G.711 silence in the same packets; digits pass") {
  Call call(config(31700));
  call.engine.remote(2, call.agent.self(), 0, true, 101);  // the agent's SDP: telephone-event 101
  call.engine.mute(2, true);
  call.engine.sync([] {});
  auto pcmu = rtp(10, 1600, 0xa1a1);  // payload 0xd5 bytes, PT 0
  call.agent.send(call.agentPort, pcmu);
  auto got = call.customer.receive();
  REQUIRE(got);
  REQUIRE(got->size() == pcmu.size());
  CHECK(std::vector<uint8_t>(got->begin(), got->begin() + 12) == std::vector<uint8_t>(pcmu.begin(), pcmu.begin() + 12));
  for (size_t i = 12; i < got->size(); ++i) REQUIRE((*got)[i] == 0xff);  // µ-law silence
  auto pcma = rtp(11, 1760, 0xa1a1);
  pcma[1] = 8;
  call.agent.send(call.agentPort, pcma);
  got = call.customer.receive();
  REQUIRE(got);
  CHECK((*got)[12] == 0xd5);  // A-law silence
  auto digit = rtp(12, 1920, 0xa1a1);
  digit[1] = 101;
  digit.resize(16);
  digit[12] = 5;  // RFC 4733: event 5
  call.agent.send(call.agentPort, digit);
  got = call.customer.receive();
  REQUIRE(got);
  CHECK(*got == digit);
  auto other = rtp(13, 2080, 0xa1a1);
  other[1] = 9;  // G.722: no silence we can write without decoding
  call.agent.send(call.agentPort, other);
  CHECK_FALSE(call.customer.receive(300));
  // The customer's side is not muted, and unmuting gives the agent back.
  call.customer.send(call.customerPort, rtp(1, 160, 0xc0c0));
  CHECK(call.agent.receive() == rtp(1, 160, 0xc0c0));
  call.engine.mute(2, false);
  call.engine.sync([] {});
  call.agent.send(call.agentPort, rtp(14, 2240, 0xa1a1));
  got = call.customer.receive();
  REQUIRE(got);
  CHECK((*got)[12] == 0xd5);  // the payload as sent
}

TEST_CASE("media engine: RFC 4733 digits sent into a leg's stream, and a key received reported once") {
  std::mutex m;
  std::condition_variable cv;
  std::vector<char> keys;
  Call call(config(31800), [&](const MediaFact& f) {
    std::lock_guard lock(m);
    if (const auto* d = std::get_if<DigitReceived>(&f)) keys.push_back(d->digit);
    cv.notify_all();
  });
  call.engine.remote(1, call.customer.self(), 0, true, 101);
  call.engine.remote(2, call.agent.self(), 0, true, 101);
  // The agent has talked: the customer's stream has an SSRC and a position.
  call.agent.send(call.agentPort, rtp(500, 80000, 0xa1a1));
  REQUIRE(call.customer.receive());
  CHECK_FALSE(call.engine.sendDigits(9, "1"));  // no such leg
  REQUIRE(call.engine.sendDigits(1, "9#"));
  // Each digit: 4 updates and 3 ends, all with the event's start timestamp.
  for (const uint8_t code : {9, 11}) {
    std::optional<uint32_t> start;
    for (int i = 0; i < 7; ++i) {
      auto got = call.customer.receive(1000);
      REQUIRE(got);
      const auto h = parseRtp(got->data(), got->size());
      REQUIRE(h);
      CHECK(h->payloadType == 101);
      CHECK(h->ssrc == 0xa1a1);  // one stream with the agent's audio
      CHECK(h->marker == (i == 0));
      CHECK((*got)[12] == code);
      CHECK(((*got)[13] & 0x80) == (i >= 4 ? 0x80 : 0));  // the E bit on the last three
      if (!start) start = h->timestamp;
      CHECK(h->timestamp == *start);
      if (i == 6) CHECK(((*got)[14] << 8 | (*got)[15]) == 1280);  // 160 ms
    }
  }
  // A key from the agent's phone: three packets of one event, one report.
  auto key = rtp(501, 96000, 0xa1a1);
  key[1] = 101;
  key.resize(16);
  key[12] = 5;
  for (int i = 0; i < 3; ++i) call.agent.send(call.agentPort, key);
  key[4] = 0x99;  // a new timestamp: the next key
  key[12] = 10;
  call.agent.send(call.agentPort, key);
  std::unique_lock lock(m);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return keys.size() >= 2; }));
  CHECK(keys == std::vector<char>{'5', '*'});
}

TEST_CASE("media engine: hold music replaces the other party towards a leg, in its codec and stream") {
  Call call(config(31900));
  auto pcma = rtp(300, 48000, 0xa1a1);
  pcma[1] = 8;  // the customer has been getting PCMA
  call.agent.send(call.agentPort, pcma);
  REQUIRE(call.customer.receive());
  call.engine.play(1, "");  // the built-in chime
  call.engine.sync([] {});
  call.agent.send(call.agentPort, pcma);  // the agent, now held back
  int music = 0;
  uint16_t lastSeq = 300;
  for (int i = 0; i < 10; ++i) {
    auto got = call.customer.receive(1000);
    REQUIRE(got);
    const auto h = parseRtp(got->data(), got->size());
    REQUIRE(h);
    CHECK(h->payloadType == 8);
    CHECK(h->ssrc == 0xa1a1);
    CHECK(h->sequence == static_cast<uint16_t>(lastSeq + 1));  // one stream, no gap
    lastSeq = h->sequence;
    CHECK(h->payloadBytes == 160);
    if ((*got)[20] != 0xd5) ++music;  // not the agent's constant payload, nor A-law silence
  }
  CHECK(music > 5);
  call.engine.stopPlaying(1);
  call.engine.sync([] {});
  // Drain what was in flight, then the agent is heard again.
  while (call.customer.receive(100)) {
  }
  call.agent.send(call.agentPort, pcma);
  auto got = call.customer.receive();
  REQUIRE(got);
  CHECK((*got)[20] == 0xd5);
}

TEST_CASE("media engine: PCMA on one leg and PCMU on the other are transcoded on the relay path") {
  Call call(config(32500));
  call.engine.remote(1, call.customer.self(), 0, true, -1, kPcma);  // the customer's SDP lists PCMA alone
  call.engine.remote(2, call.agent.self(), 0, true, -1, kPcmu);     // the agent's phone answered PCMU
  call.engine.sync([] {});
  auto pcma = rtp(10, 1600, 0xa1a1);
  pcma[1] = 8;  // A-law silence (0xd5) as payload
  call.customer.send(call.customerPort, pcma);
  auto got = call.agent.receive();
  REQUIRE(got);
  auto h = parseRtp(got->data(), got->size());
  REQUIRE(h);
  CHECK(h->payloadType == 0);
  CHECK((h->sequence == 10 && h->timestamp == 1600 && h->ssrc == 0xa1a1));  // the stream is otherwise as sent
  CHECK(h->payloadBytes == 160);
  uint8_t silence = 0xd5;
  transcodeG711(&silence, 1, 8);
  CHECK(silence != 0xd5);  // μ-law's near-zero codes are 0x7f, 0xfe and 0xff
  CHECK((*got)[12] == silence);
  CHECK((*got)[171] == silence);
  // A marker bit survives the new payload type.
  auto pcmu = rtp(20, 3200, 0xb2b2);
  pcmu[1] = 0x80;  // PCMU, marker set
  pcmu[12] = 0x00;  // μ-law's loudest negative code ...
  call.agent.send(call.agentPort, pcmu);
  got = call.customer.receive();
  REQUIRE(got);
  CHECK((*got)[1] == (0x80 | 8));
  uint8_t loudest = 0x00;
  transcodeG711(&loudest, 1, 0);
  CHECK((*got)[12] == loudest);  // ... in A-law, as spandsp's table has it
  uint8_t rest = 0xd5;
  transcodeG711(&rest, 1, 0);
  CHECK((*got)[13] == rest);
  // A leg listing both laws gets either as sent.
  call.engine.remote(2, call.agent.self(), 0, true, -1, kPcmu | kPcma);
  call.engine.sync([] {});
  call.customer.send(call.customerPort, pcma);
  got = call.agent.receive();
  REQUIRE(got);
  CHECK((*got)[1] == 8);
  call.engine.sync([] {});
  CHECK(call.engine.counters().packetsTranscoded == 2);
}

TEST_CASE("media engine: the law a leg negotiated is the one our own audio to it uses before any relay") {
  Call call(config(32560));
  call.engine.remote(1, call.customer.self(), 0, true, -1, kPcma);  // queue music after our own early answer in PCMA
  call.engine.play(1, "");
  auto got = call.customer.receive();
  REQUIRE(got);
  const auto h = parseRtp(got->data(), got->size());
  REQUIRE(h);
  CHECK(h->payloadType == 8);
  call.engine.stopPlaying(1);
}

TEST_CASE("media clips: a WAV of 8 kHz is read; others are refused with the reason; the chime is built in") {
  std::string why;
  CHECK_FALSE(Clip::load("/nonexistent/hold.wav", &why));
  CHECK_FALSE(why.empty());
  const auto chime = Clip::chime();
  REQUIRE(chime);
  CHECK(chime->samples().size() == 8000);  // two 400 ms notes and two 100 ms pauses: a second
  uint8_t ulaw[160], alaw[160];
  encodeG711(chime->samples().data() + 3200 + 800 + 1600, 160, 0, ulaw);  // mid-way through the second note
  encodeG711(chime->samples().data() + 3200, 160, 8, alaw);                // the first pause
  CHECK(ulaw[0] != 0xff);
  for (uint8_t b : alaw) REQUIRE(b == 0xd5);  // silence in A-law
}

namespace {

// A 16-bit PCM WAV (RIFF, 44-byte header) of `samples` at `rate` Hz, `channels` interleaved.
std::string writeWav(const std::string& name, uint32_t rate, uint16_t channels, const std::vector<int16_t>& samples) {
  const std::string path = "/tmp/seatbridge-media-test-" + std::to_string(::getpid()) + "-" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  const auto u32 = [&](uint32_t v) { std::fwrite(&v, 4, 1, f); };  // little-endian hosts (x86-64, arm64)
  const auto u16 = [&](uint16_t v) { std::fwrite(&v, 2, 1, f); };
  const uint32_t bytes = static_cast<uint32_t>(samples.size() * 2);
  std::fwrite("RIFF", 1, 4, f);
  u32(36 + bytes);
  std::fwrite("WAVEfmt ", 1, 8, f);
  u32(16);
  u16(1);
  u16(channels);
  u32(rate);
  u32(rate * channels * 2);
  u16(static_cast<uint16_t>(channels * 2));
  u16(16);
  std::fwrite("data", 1, 4, f);
  u32(bytes);
  std::fwrite(samples.data(), 2, samples.size(), f);
  std::fclose(f);
  return path;
}

}  // namespace

TEST_CASE("media clips: an 8 kHz WAV, stereo mixed down; another rate refused") {
  const std::string stereo = writeWav("stereo.wav", 8000, 2, {1000, 3000, -2000, -4000});
  std::string why;
  const auto clip = Clip::load(stereo, &why);
  REQUIRE(clip);
  CHECK(clip->samples() == std::vector<int16_t>{2000, -3000});
  const std::string wide = writeWav("wide.wav", 16000, 1, std::vector<int16_t>(320, 100));
  CHECK_FALSE(Clip::load(wide, &why));
  CHECK(why.find("16000 Hz") != std::string::npos);
  std::remove(stereo.c_str());
  std::remove(wide.c_str());
}
