// Mixing (docs/MEDIA.md, "Mixing"): the decode-mix-encode path, taken
// only by the legs that hear more than one party (a supervisor, an agent being
// whispered to, a customer barged in on). Every other packet stays on the
// relay path, undecoded. Each leg heard in a mix has a jitter buffer its
// packets are decoded into (receive()); on each 20 ms tick of the frame clock
// every such leg gives one frame, and every listener gets the sum of its row's
// frames, each scaled by its gain, encoded in the G.711 law it uses.
#include <algorithm>
#include <cmath>

#include "common/c_callback.hpp"
#include "media/clip.hpp"
#include "media/engine_parts.hpp"

namespace sb::media {

void MediaEngine::mix(LegId listener, std::vector<MixSource> sources) {
  thread_.post([this, listener, sources = std::move(sources)]() mutable {
    if (auto it = endpoints_.find(listener); it != endpoints_.end()) setMixRow(*it->second, std::move(sources));
  });
}

// `listener`'s row of the gain matrix replaced: the legs it names are decoded
// (a jitter buffer each, kept while any row names them), and the frame clock
// runs while anyone hears a mix.
void MediaEngine::setMixRow(Endpoint& listener, std::vector<MixSource> sources) {
  const bool was = !listener.mix.empty();
  for (const MixSource& s : listener.mix) {
    auto it = endpoints_.find(s.leg);
    if (it == endpoints_.end() || !it->second->mixInput) continue;
    if (--it->second->mixInput->rows == 0) it->second->mixInput.reset();
  }
  // A leg never hears itself, and a gain of 0 is no entry.
  sources.erase(std::remove_if(sources.begin(), sources.end(),
                               [&](const MixSource& s) { return s.leg == listener.leg || !(s.gain > 0.0f); }),
                sources.end());
  listener.mix = std::move(sources);
  for (const MixSource& s : listener.mix) {
    auto it = endpoints_.find(s.leg);
    if (it == endpoints_.end()) continue;
    if (!it->second->mixInput) it->second->mixInput = std::make_unique<MixInput>();
    ++it->second->mixInput->rows;
  }
  const bool is = !listener.mix.empty();
  if (was != is) {
    // From the relay to the mix or back: a new source in the leg's stream
    // (RFC 3550 §8, the rewriter continues its numbering).
    listener.out.switchSource();
    if (is)
      ++mixing_;
    else
      --mixing_;
    frameClock();
  }
}

void MediaEngine::frameClock() {
  const bool wanted = recordings_ > 0 || mixing_ > 0;
  if (wanted && !frameTimer_) frameTimer_ = event_new(thread_.base(), -1, EV_PERSIST, &MediaEngine::onFrameTimer, this);
  if (!frameTimer_) return;
  if (wanted && !event_pending(frameTimer_, EV_TIMEOUT, nullptr)) {
    frameDueUs_ = nowUs() + 20'000;
    const timeval frame{0, 20'000};
    event_add(frameTimer_, &frame);
  } else if (!wanted) {
    event_del(frameTimer_);
  }
}

// The clock counts frames by the time that passed, not by its wake-ups: a
// media thread running late (a loaded host) makes every frame it owes, up to
// the jitter buffers' depth (200 ms), so a recording's length stays the wall
// time it recorded and a mix's stream its timing; a longer stall is given up.
void MediaEngine::onFrameTimer(int, short, void* arg) noexcept {
  guardedCallback("media", "frame", [&] {
    auto* engine = static_cast<MediaEngine*>(arg);
    constexpr int64_t kFrameUs = 20'000, kSlackUs = 1'000;
    constexpr int kMaxFrames = static_cast<int>(JitterBuffer::kMaxBufferedSamples / JitterBuffer::kFrameSamples);
    const int64_t now = nowUs();
    int frames = 0;
    while (engine->frameDueUs_ <= now + kSlackUs && frames < kMaxFrames) {
      engine->frameDueUs_ += kFrameUs;
      ++frames;
    }
    if (engine->frameDueUs_ <= now) engine->frameDueUs_ = now + kFrameUs;
    for (int i = 0; i < frames; ++i) {
      if (engine->mixing_ > 0) engine->mixFrames();
      if (engine->recordings_ > 0) engine->recordFrames();
    }
  });
}

// One tick: every heard leg's next frame, then every listener's mix of them.
void MediaEngine::mixFrames() {
  constexpr size_t kFrame = JitterBuffer::kFrameSamples;
  for (auto& [leg, e] : endpoints_)
    if (e->mixInput) e->mixInput->buffer.take(e->mixInput->frame);
  for (auto& [leg, e] : endpoints_) {
    Endpoint& l = *e;
    // Hold music and telephone-events have the stream meanwhile (play(), sendDigits()).
    if (l.mix.empty() || !l.reachable() || l.clip || l.sendingDigits()) continue;
    float sum[kFrame] = {};
    for (const MixSource& s : l.mix) {
      auto it = endpoints_.find(s.leg);
      if (it == endpoints_.end() || !it->second->mixInput) continue;
      const int16_t* f = it->second->mixInput->frame;
      for (size_t i = 0; i < kFrame; ++i) sum[i] += s.gain * static_cast<float>(f[i]);
    }
    int16_t frame[kFrame];
    for (size_t i = 0; i < kFrame; ++i) frame[i] = static_cast<int16_t>(std::clamp(std::lround(sum[i]), -32768L, 32767L));
    constexpr uint32_t kMixerSsrc = 0x4d495845;  // the mixer's own SSRC, rewritten into the leg's stream
    sendFrame(l, frame, l.mixSeq, l.mixTs, kMixerSsrc);
    // A recorded leg's right channel is what it hears: here the mix (a
    // customer barged in on hears the agent and the supervisor), which tap()
    // leaves to this.
    if (l.recording && !l.recording->paused && !l.recording->failed) {
      uint8_t heard[kFrame];
      encodeG711(frame, kFrame, 0, heard);
      l.recording->tap.feed(1, 0, heard, kFrame);
    }
  }
}

}  // namespace sb::media
