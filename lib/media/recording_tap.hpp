#pragma once
// What a recording hears, per 20 ms (docs/MEDIA.md, "Recording"): the
// two directions of one call leg, each in a JitterBuffer of its own, read out
// on the engine's frame clock as one stereo frame (channel 0 left, 1 right)
// or their sum (mono).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "media/jitter_buffer.hpp"

namespace sb::media {

class RecordingTap {
 public:
  static constexpr size_t kFrameSamples = JitterBuffer::kFrameSamples;

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
  JitterBuffer channels_[2];
  bool stereo_;
};

}  // namespace sb::media
