#include "media/recording_tap.hpp"

#include <spandsp.h>  // g711.h's decoders (it needs the umbrella header's set-up before it)

#include <algorithm>

namespace sb::media {

bool RecordingTap::feed(int channel, uint8_t pt, const uint8_t* payload, size_t bytes) {
  if (pt != 0 && pt != 8) return false;
  Channel& c = channels_[channel & 1];
  c.samples.reserve(c.samples.size() + bytes);
  for (size_t i = 0; i < bytes; ++i) c.samples.push_back(pt == 0 ? ulaw_to_linear(payload[i]) : alaw_to_linear(payload[i]));
  if (c.samples.size() > kMaxBufferedSamples) {
    // Ahead of our clock: keep the newest, back down to the priming depth.
    c.samples.erase(c.samples.begin(), c.samples.end() - static_cast<std::ptrdiff_t>(kPrimeSamples));
  }
  if (c.samples.size() >= kPrimeSamples) c.primed = true;
  return true;
}

void RecordingTap::Channel::take(int16_t* into) {
  std::fill(into, into + kFrameSamples, int16_t{0});
  if (!primed) return;
  const size_t n = std::min(kFrameSamples, samples.size());
  std::copy(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(n), into);
  samples.erase(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(n));
  if (samples.empty()) primed = false;  // ran dry: silence until two frames are buffered again
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
  for (Channel& c : channels_) {
    c.samples.clear();
    c.primed = false;
  }
}

}  // namespace sb::media
