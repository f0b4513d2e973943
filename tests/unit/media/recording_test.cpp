// Recording: the tap's frames (pure), the writer's files read back with
// libsndfile (a full disk is /dev/full), and the engine recording a call whose
// two sides send different payloads over real loopback sockets.
#include <doctest/doctest.h>
#include <sndfile.h>
#include <spandsp.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "media/recorder.hpp"
#include "media/recording_tap.hpp"

using namespace sb::media;
using namespace sb::media::testing;

namespace {

std::string tempPath(const std::string& name) {
  return "/tmp/seatbridge-recording-test-" + std::to_string(::getpid()) + "-" + name;
}

struct Wav {
  int channels = 0, rate = 0;
  std::vector<int16_t> samples;  // interleaved
};

Wav readWav(const std::string& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  REQUIRE_MESSAGE(f, sf_strerror(nullptr));
  Wav w{info.channels, info.samplerate, std::vector<int16_t>(static_cast<size_t>(info.frames * info.channels))};
  CHECK(sf_readf_short(f, w.samples.data(), info.frames) == info.frames);
  sf_close(f);
  return w;
}

// Failures the writer reported, awaited rather than slept for.
struct Failures {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> seen;
  void add(const std::string& why) {
    std::lock_guard l(m);
    seen.push_back(why);
    cv.notify_all();
  }
  bool await(size_t n) {
    std::unique_lock l(m);
    return cv.wait_for(l, std::chrono::seconds(5), [&] { return seen.size() >= n; });
  }
};

std::vector<uint8_t> payload(uint8_t byte) { return std::vector<uint8_t>(160, byte); }

}  // namespace

TEST_CASE("recording tap: each side primed with 40 ms, interleaved stereo, mono mixed and saturated") {
  RecordingTap tap(true);
  const auto a = payload(0x90), b = payload(0x10);
  std::vector<int16_t> out;
  tap.feed(0, 0, a.data(), a.size());
  tap.frame(out);  // one frame buffered: not primed yet, silence
  for (int16_t s : out) REQUIRE(s == 0);
  tap.feed(0, 0, a.data(), a.size());
  tap.feed(1, 8, b.data(), b.size());
  tap.feed(1, 8, b.data(), b.size());
  out.clear();
  tap.frame(out);
  REQUIRE(out.size() == 2 * RecordingTap::kFrameSamples);
  CHECK(out[0] == ulaw_to_linear(0x90));
  CHECK(out[1] == alaw_to_linear(0x10));
  CHECK_FALSE(tap.feed(0, 18, a.data(), a.size()));  // G.729: not decoded

  RecordingTap mono(false);
  const auto loud = payload(0x80);  // µ-law's largest positive value
  for (int i = 0; i < 2; ++i) {
    mono.feed(0, 0, loud.data(), loud.size());
    mono.feed(1, 0, loud.data(), loud.size());
  }
  out.clear();
  mono.frame(out);
  REQUIRE(out.size() == RecordingTap::kFrameSamples);
  CHECK(out[0] == 32767);  // 2 x 32124, clamped

  // A side far ahead of the clock is trimmed back to the priming depth.
  RecordingTap ahead(true);
  for (int i = 0; i < 20; ++i) ahead.feed(0, 0, a.data(), a.size());
  int frames = 0;
  for (out.clear(); frames < 5; ++frames) ahead.frame(out);
  CHECK(out[2 * 2 * RecordingTap::kFrameSamples] == 0);  // the third frame: the two kept were used up
}

TEST_CASE("recorder: a WAV written, appended to when opened again; a bad path and a full disk reported") {
  Failures failures;
  const std::string path = tempPath("rec.wav");
  {
    Recorder rec([&](uint64_t, const std::string& why) { failures.add(why); });
    rec.open(1, path, 2);
    rec.write(1, std::vector<int16_t>(2 * 800, 1000));
    rec.close(1);
    rec.open(1, path, 2);  // stopped and started again: the same file goes on
    rec.write(1, std::vector<int16_t>(2 * 800, -1000));
    rec.close(1);
    rec.flush();
    CHECK(rec.counters().bytesWritten == 2 * 2 * 800 * 2);
    CHECK(rec.counters().failures == 0);
  }
  const Wav w = readWav(path);
  CHECK(w.channels == 2);
  CHECK(w.rate == 8000);
  REQUIRE(w.samples.size() == 2 * 1600);
  CHECK(w.samples.front() == 1000);
  CHECK(w.samples.back() == -1000);
  std::remove(path.c_str());

  Recorder rec([&](uint64_t id, const std::string& why) { failures.add(std::to_string(id) + " " + why); });
  rec.open(7, "/nonexistent-dir/x.wav", 1);
  REQUIRE(failures.await(1));
  CHECK(failures.seen[0].rfind("7 cannot open", 0) == 0);
  rec.open(8, "/dev/full", 1);  // opens; every write fails with ENOSPC
  for (int i = 0; i < 40; ++i) rec.write(8, std::vector<int16_t>(8000, 5));
  REQUIRE(failures.await(2));
  rec.flush();
  CHECK(failures.seen.size() == 2);  // once per file, however many blocks followed
  // libsndfile writes the header as it opens: the disk is found full there.
  CHECK(failures.seen[1].rfind("8 ", 0) == 0);
  CHECK_MESSAGE(failures.seen[1].find("No space left on device") != std::string::npos, failures.seen[1]);
  CHECK(rec.counters().failures == 2);
  CHECK(rec.counters().blocksDropped > 0);
}

TEST_CASE("media engine: a recording holds each side in its own channel; nothing while paused") {
  const std::string path = tempPath("call.wav");
  std::remove(path.c_str());
  {
    Call call(config(32100));
    call.engine.record(1, path, true);
    call.engine.sync([] {});
    const auto send = [&](uint8_t customerByte, uint8_t agentByte, int packets) {
      for (int i = 0; i < packets; ++i) {
        auto c = rtp(static_cast<uint16_t>(i), static_cast<uint32_t>(160 * i), 0xc0c0);
        std::fill(c.begin() + 12, c.end(), customerByte);
        c[1] = 0;
        auto a = c;
        std::fill(a.begin() + 12, a.end(), agentByte);
        call.customer.send(call.customerPort, c);
        call.agent.send(call.agentPort, a);
        REQUIRE(call.agent.receive());  // relayed as ever, paced by the relay itself
        REQUIRE(call.customer.receive());
        // 20 ms a packet, as a phone sends: the frame clock takes one frame per tick.
        pollfd none{-1, 0, 0};
        ::poll(&none, 0, 20);
      }
    };
    send(0x90, 0x10, 25);
    call.engine.pauseRecording(1, true);
    call.engine.sync([] {});
    send(0xa5, 0xa5, 15);  // a card number being read out
    call.engine.pauseRecording(1, false);
    call.engine.sync([] {});
    send(0x90, 0x10, 25);
    call.engine.stopRecording(1);
    call.engine.sync([] {});
  }  // the engine's end waits for the writer
  const Wav w = readWav(path);
  REQUIRE(w.channels == 2);
  size_t customer = 0, agent = 0, paused = 0;
  for (size_t i = 0; i + 1 < w.samples.size(); i += 2) {
    if (w.samples[i] == ulaw_to_linear(0x90)) ++customer;
    if (w.samples[i + 1] == ulaw_to_linear(0x10)) ++agent;
    if (w.samples[i] == ulaw_to_linear(0xa5) || w.samples[i + 1] == ulaw_to_linear(0xa5)) ++paused;
    REQUIRE(w.samples[i] != ulaw_to_linear(0x10));  // the agent never in the customer's channel
  }
  // 50 packets of 160 samples each side; some at the edges may fall to priming.
  CHECK(customer >= 40 * 160);
  CHECK(agent >= 40 * 160);
  CHECK(paused == 0);
  std::remove(path.c_str());
}

TEST_CASE("media engine: a barged call's recording has the agent and the supervisor in the customer's right channel") {
  // Barge: the customer hears a mix of the agent and the supervisor, and its
  // recording's right channel is what the customer heard, that mix; the
  // supervisor never reaches the customer's own (left) channel.
  const std::string path = tempPath("barge.wav");
  std::remove(path.c_str());
  constexpr uint8_t kCustomer = 0x90, kAgent = 0x10, kSupervisor = 0x20;
  {
    Call call(config(32300));
    Phone supervisor;
    const uint16_t supervisorPort = *call.engine.endpoint(3);
    call.engine.remote(3, supervisor.self(), 0, true);
    call.engine.mix(1, {{2, 1.0f}, {3, 1.0f}});
    call.engine.record(1, path, true);
    call.engine.sync([] {});
    const auto packet = [](uint8_t byte, int i) {
      auto p = rtp(static_cast<uint16_t>(i), static_cast<uint32_t>(160 * i), 0x5ca1ab1e + byte);
      std::fill(p.begin() + 12, p.end(), byte);
      p[1] = 0;  // PCMU
      return p;
    };
    for (int i = 0; i < 50; ++i) {
      call.customer.send(call.customerPort, packet(kCustomer, i));
      call.agent.send(call.agentPort, packet(kAgent, i));
      supervisor.send(supervisorPort, packet(kSupervisor, i));
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 20);  // a phone's pace; the frame clock runs on its own
      while (call.customer.receive(0) || call.agent.receive(0) || supervisor.receive(0)) {
      }
    }
    call.engine.stopRecording(1);
    call.engine.sync([] {});
  }
  const Wav w = readWav(path);
  REQUIRE(w.channels == 2);
  const int16_t both = ulaw_to_linear(linear_to_ulaw(ulaw_to_linear(kAgent) + ulaw_to_linear(kSupervisor)));
  size_t customer = 0, mixed = 0, agentAlone = 0;
  for (size_t i = 0; i + 1 < w.samples.size(); i += 2) {
    if (w.samples[i] == ulaw_to_linear(kCustomer)) ++customer;
    if (w.samples[i + 1] == both) ++mixed;
    if (w.samples[i + 1] == ulaw_to_linear(kAgent)) ++agentAlone;
    REQUIRE(w.samples[i] != ulaw_to_linear(kSupervisor));
  }
  CHECK(customer >= 35 * 160);
  CHECK(mixed >= 35 * 160);
  CHECK(agentAlone == 0);  // the relayed agent is not recorded beside the mix that has it
  std::remove(path.c_str());
}

TEST_CASE("recorder: the folder is made; WAVs past recording.retentionDays are deleted, nothing else") {
  namespace fs = std::filesystem;
  const fs::path dir = tempPath("retention") + "/calls";
  fs::remove_all(dir.parent_path());
  fs::create_directories(dir);
  const auto touch = [&](const std::string& name, int daysAgo) {
    const fs::path p = dir / name;
    std::FILE* f = std::fopen(p.c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(24) * daysAgo);
    return p;
  };
  const fs::path old = touch("old.wav", 10), recent = touch("recent.wav", 2), notOurs = touch("notes.txt", 10);
  {
    Recorder rec({}, RecorderFolder{dir.string(), 5});
    rec.flush();  // the first sweep is done before flush() returns
    CHECK(rec.counters().filesExpired == 1);
  }
  CHECK_FALSE(fs::exists(old));
  CHECK(fs::exists(recent));
  CHECK(fs::exists(notOurs));
  {
    const fs::path fresh = dir / "new" / "deeper";
    Recorder rec({}, RecorderFolder{fresh.string(), 0});
    rec.flush();
    CHECK(fs::is_directory(fresh));  // made, with its parents
  }
  fs::remove_all(dir.parent_path());
}
