#include "media/inband_dtmf.hpp"

#include <spandsp.h>

#include <algorithm>
#include <new>

namespace sb::media {

InbandDtmf::InbandDtmf() : rx_(dtmf_rx_init(nullptr, &InbandDtmf::onDigits, this)) {
  if (!rx_) throw std::bad_alloc();
}

InbandDtmf::~InbandDtmf() { dtmf_rx_free(rx_); }

void InbandDtmf::onDigits(void* self, const char* digits, int len) {
  if (digits && len > 0) static_cast<InbandDtmf*>(self)->found_.append(digits, static_cast<size_t>(len));
}

std::string InbandDtmf::feed(uint8_t pt, const uint8_t* payload, size_t bytes) {
  int16_t amp[160];
  for (size_t done = 0; done < bytes;) {
    const size_t n = std::min(bytes - done, sizeof amp / sizeof amp[0]);
    for (size_t i = 0; i < n; ++i) amp[i] = pt == 0 ? ulaw_to_linear(payload[done + i]) : alaw_to_linear(payload[done + i]);
    dtmf_rx(rx_, amp, static_cast<int>(n));
    done += n;
  }
  std::string keys;
  keys.swap(found_);
  return keys;
}

}  // namespace sb::media
