#pragma once
// In-band DTMF (docs/MEDIA.md, "Digits"): the keys pressed on a leg that
// negotiated no telephone-event (RFC 4733), sent as tone pairs in its G.711
// audio, found by spandsp's DTMF receiver (ITU-T Q.23 frequencies, Q.24
// timing and twist). The tones themselves are relayed as the audio they are;
// this only tells which keys they were.
#include <cstddef>
#include <cstdint>
#include <string>

struct dtmf_rx_state_s;

namespace sb::media {

class InbandDtmf {
 public:
  InbandDtmf();
  ~InbandDtmf();
  InbandDtmf(const InbandDtmf&) = delete;
  InbandDtmf& operator=(const InbandDtmf&) = delete;
  // A G.711 payload (payload type 0 PCMU or 8 PCMA) heard from the leg: the
  // keys recognised in it, in order (most often none).
  std::string feed(uint8_t pt, const uint8_t* payload, size_t bytes);

 private:
  static void onDigits(void* self, const char* digits, int len);
  dtmf_rx_state_s* rx_ = nullptr;
  std::string found_;
};

}  // namespace sb::media
