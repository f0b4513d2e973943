// Recording (docs/MEDIA.md, "Recording"): a recorded leg's two
// directions are tapped as packets pass the relay (a copy of the payload,
// decoded), and the engine's 20 ms frame clock turns them into frames for the
// writer thread (recorder.cpp). The relay never waits for any of it.
#include <utility>

#include "common/c_callback.hpp"
#include "common/log.hpp"
#include "media/engine_parts.hpp"

namespace sb::media {

void MediaEngine::record(LegId leg, const std::string& path, bool stereo) {
  thread_.post([this, leg, path, stereo] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end() || it->second->recording) return;
    Endpoint& e = *it->second;
    e.recording = std::make_unique<Recording>(stereo);
    recorder_->open(leg, path, stereo ? 2 : 1);
    ++recordings_;
    frameClock();
  });
}

void MediaEngine::pauseRecording(LegId leg, bool paused) {
  thread_.post([this, leg, paused] {
    auto it = endpoints_.find(leg);
    if (it == endpoints_.end() || !it->second->recording) return;
    Recording& r = *it->second->recording;
    r.paused = paused;
    r.tap.reset();  // what was buffered before the pause is not kept either
  });
}

void MediaEngine::stopRecording(LegId leg) {
  thread_.post([this, leg] {
    if (auto it = endpoints_.find(leg); it != endpoints_.end()) endRecording(*it->second);
  });
}

void MediaEngine::endRecording(Endpoint& e) {
  if (!e.recording) return;
  if (!e.recording->pending.empty() && !e.recording->failed) recorder_->write(e.leg, std::move(e.recording->pending));
  recorder_->close(e.leg);
  e.recording.reset();
  --recordings_;
  frameClock();
}

// Copies of the packet's audio for the recordings it belongs to: what `from`
// sends is channel 0 of its own recording and channel 1 of its peer's.
void MediaEngine::tap(Endpoint& from, Endpoint* to, const uint8_t* packet, const RtpHeader& h) {
  if (static_cast<int>(h.payloadType) == from.dtmfPt) return;  // telephone-events are not audio
  const auto feed = [&](Endpoint& owner, int channel) {
    Recording& r = *owner.recording;
    if (r.paused || r.failed) return;
    if (r.tap.feed(channel, h.payloadType, packet + h.headerBytes, h.payloadBytes) || r.undecodableSeen) return;
    r.undecodableSeen = true;
    counters_->recordingFailures.fetch_add(1, std::memory_order_relaxed);
    if (report_)
      report_(RecordingFailed{owner.leg, "codecNotDecodable: payload type " + std::to_string(h.payloadType) +
                                             " is not G.711 (PCMU, PCMA); that side is recorded as silence"});
  };
  if (from.recording) feed(from, 0);
  // A leg hearing a mix (a barge) has that mix recorded instead (mixFrames).
  if (to && to->recording && to->peer == from.leg && to->mix.empty()) feed(*to, 1);
}

// The frame clock: one 20 ms frame of every recording not paused, handed to
// the writer a second at a time (one write(2) a second per file, not fifty).
void MediaEngine::recordFrames() {
  constexpr size_t kBlockFrames = 50;
  for (auto& [leg, e] : endpoints_) {
    if (!e->recording) continue;
    Recording& r = *e->recording;
    if (r.paused || r.failed) continue;
    r.tap.frame(r.pending);
    const size_t channels = r.tap.stereo() ? 2 : 1;
    if (r.pending.size() >= kBlockFrames * RecordingTap::kFrameSamples * channels)
      recorder_->write(leg, std::exchange(r.pending, {}));
  }
}

}  // namespace sb::media
