#pragma once
// One direction of a call's audio, decoded from G.711 (RFC 3551 §4.5.14) as
// its packets pass the relay, and read out 20 ms at a time on the engine's
// frame clock: what a recording (recording_tap.hpp) and the mixer
// (engine_mix.cpp) hear of a leg. The relay itself never waits for it: only a
// copy of each payload is decoded.
//
// A tiny jitter buffer: it starts giving samples once two frames (40 ms) are
// buffered, so that packets arriving either side of a clock tick do not
// alternate between a gap and a doubled frame; one that runs dry gives
// silence until primed again; one that runs ahead of the clock (the phone's
// clock faster than ours) is trimmed back, so two of them never drift apart
// by more than kMaxBufferedSamples.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb::media {

class JitterBuffer {
 public:
  static constexpr size_t kFrameSamples = 160;  // 20 ms at 8000 Hz
  static constexpr size_t kPrimeSamples = 2 * kFrameSamples;
  static constexpr size_t kMaxBufferedSamples = 10 * kFrameSamples;

  // A packet's payload of payload type `pt`; false (and nothing taken) unless
  // it is PCMU (0) or PCMA (8).
  bool feed(uint8_t pt, const uint8_t* payload, size_t bytes);
  // The next frame's kFrameSamples samples into `into` (silence where there are none).
  void take(int16_t* into);
  // Forgets what is buffered.
  void reset();

 private:
  std::vector<int16_t> samples_;  // oldest first
  bool primed_ = false;
};

}  // namespace sb::media
