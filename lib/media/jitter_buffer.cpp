#include "media/jitter_buffer.hpp"

#include <spandsp.h>  // g711.h's decoders (it needs the umbrella header's set-up before it)

#include <algorithm>

namespace sb::media {

bool JitterBuffer::feed(uint8_t pt, const uint8_t* payload, size_t bytes) {
  if (pt != 0 && pt != 8) return false;
  samples_.reserve(samples_.size() + bytes);
  for (size_t i = 0; i < bytes; ++i) samples_.push_back(pt == 0 ? ulaw_to_linear(payload[i]) : alaw_to_linear(payload[i]));
  if (samples_.size() > kMaxBufferedSamples) {
    // Ahead of our clock: keep the newest, back down to the priming depth.
    samples_.erase(samples_.begin(), samples_.end() - static_cast<std::ptrdiff_t>(kPrimeSamples));
  }
  if (samples_.size() >= kPrimeSamples) primed_ = true;
  return true;
}

void JitterBuffer::take(int16_t* into) {
  std::fill(into, into + kFrameSamples, int16_t{0});
  if (!primed_) return;
  const size_t n = std::min(kFrameSamples, samples_.size());
  std::copy(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(n), into);
  samples_.erase(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(n));
  if (samples_.empty()) primed_ = false;  // ran dry: silence until two frames are buffered again
}

void JitterBuffer::reset() {
  samples_.clear();
  primed_ = false;
}

}  // namespace sb::media
