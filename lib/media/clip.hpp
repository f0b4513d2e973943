#pragma once
// Audio seatbridge plays into a call (hold music): a clip of 8 kHz 16-bit
// samples, read from a WAV file with libsndfile or, when none is configured,
// the built-in chime; and G.711 encoding of a 20 ms frame of it with spandsp
// (RFC 3551 §4.5.14: payload type 0 PCMU, 8 PCMA).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sb::media {

class Clip {
 public:
  // A WAV (or any file libsndfile reads) of 8000 Hz, mono or stereo (mixed
  // down); nullptr with `why` when it cannot be played as it is.
  static std::shared_ptr<const Clip> load(const std::string& path, std::string* why);
  // The bundled default: a soft two-note chime, 440 Hz then 554 Hz (A4, C#5),
  // 400 ms each with 100 ms between, at about -20 dBFS, looping.
  static std::shared_ptr<const Clip> chime();

  const std::vector<int16_t>& samples() const { return samples_; }

 private:
  std::vector<int16_t> samples_;
};

// `n` samples as a G.711 payload for payload type `pt` (0 µ-law, else A-law).
void encodeG711(const int16_t* samples, size_t n, uint8_t pt, uint8_t* out);

}  // namespace sb::media
