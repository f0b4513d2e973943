#include "media/recording_tap.hpp"

#include <algorithm>

namespace sb::media {

bool RecordingTap::feed(int channel, uint8_t pt, const uint8_t* payload, size_t bytes) {
  return channels_[channel & 1].feed(pt, payload, bytes);
}

void RecordingTap::frame(std::vector<int16_t>& out) {
  int16_t left[kFrameSamples], right[kFrameSamples];
  channels_[0].take(left);
  channels_[1].take(right);
  for (size_t i = 0; i < kFrameSamples; ++i) {
    if (stereo_) {
      out.push_back(left[i]);
      out.push_back(right[i]);
    } else {
      // The mix, saturated rather than wrapped.
      out.push_back(static_cast<int16_t>(std::clamp(int{left[i]} + int{right[i]}, -32768, 32767)));
    }
  }
}

void RecordingTap::reset() {
  for (JitterBuffer& c : channels_) c.reset();
}

}  // namespace sb::media
