#pragma once
// What a recording hears, per 20 ms (docs/ARCHITECTURE.md, "Recording"): the
// two directions of one call leg decoded from G.711 (RFC 3551 §4.5.14) as
// their packets pass the relay, each into a short buffer of its own, and read
// out on the engine's frame clock as one stereo frame (channel 0 left, 1
// right) or their sum (mono). The relay itself never waits for this: packets
// are forwarded as they come, and only a copy of their payload is decoded.
//
// Each direction is a tiny jitter buffer: it starts giving samples once two
// frames (40 ms) are buffered, so that packets arriving either side of a
// clock tick do not alternate between a gap and a doubled frame; a direction
// that runs dry gives silence until primed again; one that runs ahead of the
// clock (the phone's clock faster than ours) is trimmed back, so the two
// channels never drift apart by more than kMaxBufferedSamples.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb::media {

class RecordingTap {
 public:
  static constexpr size_t kFrameSamples = 160;  // 20 ms at 8000 Hz
  static constexpr size_t kPrimeSamples = 2 * kFrameSamples;
  static constexpr size_t kMaxBufferedSamples = 10 * kFrameSamples;

  explicit RecordingTap(bool stereo) : stereo_(stereo) {}
  bool stereo() const { return stereo_; }
  // A packet's payload heard on `channel` (0 or 1), of payload type `pt`;
  // false (and nothing taken) unless it is PCMU (0) or PCMA (8).
  bool feed(int channel, uint8_t pt, const uint8_t* payload, size_t bytes);
  // Appends one frame: kFrameSamples samples, interleaved L R when stereo.
  void frame(std::vector<int16_t>& out);
  // Forgets what is buffered (a pause: nothing of it is kept).
  void reset();

 private:
  struct Channel {
    std::vector<int16_t> samples;  // oldest first
    bool primed = false;
    // The next frame's samples into `into` (silence where there are none).
    void take(int16_t* into);
  };
  Channel channels_[2];
  bool stereo_;
};

}  // namespace sb::media
