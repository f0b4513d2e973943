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
// `n` G.711 bytes in place from one law to the other (payload type 0 PCMU to
// 8 PCMA or back), with spandsp's direct tables (G.711 Appendix's law to law
// conversion, no linear step and no loss beyond the two laws' own).
void transcodeG711(uint8_t* payload, size_t n, uint8_t fromPt);

}  // namespace sb::media
