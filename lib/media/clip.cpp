#include "media/clip.hpp"

#include <sndfile.h>
#include <spandsp.h>  // its umbrella header: g711.h needs bit_operations.h and the math set-up before it

#include <algorithm>
#include <cmath>

namespace sb::media {

std::shared_ptr<const Clip> Clip::load(const std::string& path, std::string* why) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) {
    if (why) *why = sf_strerror(nullptr);
    return nullptr;
  }
  auto clip = std::make_shared<Clip>();
  std::string problem;
  if (info.samplerate != 8000)
    problem = "sampled at " + std::to_string(info.samplerate) + " Hz, not 8000 Hz (telephone audio)";
  else if (info.channels < 1 || info.channels > 2)
    problem = std::to_string(info.channels) + " channels, not 1 or 2";
  else if (info.frames <= 0 || info.frames > 8000LL * 3600)
    problem = "empty, or longer than an hour";
  if (problem.empty()) {
    std::vector<int16_t> frames(static_cast<size_t>(info.frames) * static_cast<size_t>(info.channels));
    const sf_count_t got = sf_readf_short(f, frames.data(), info.frames);
    clip->samples_.reserve(static_cast<size_t>(got));
    for (sf_count_t i = 0; i < got; ++i) {
      int sum = 0;
      for (int c = 0; c < info.channels; ++c) sum += frames[static_cast<size_t>(i * info.channels + c)];
      clip->samples_.push_back(static_cast<int16_t>(sum / info.channels));
    }
    if (clip->samples_.empty()) problem = "no samples could be read";
  }
  sf_close(f);
  if (!problem.empty()) {
    if (why) *why = problem;
    return nullptr;
  }
  return clip;
}

std::shared_ptr<const Clip> Clip::chime() {
  static const std::shared_ptr<const Clip> built = [] {
    auto clip = std::make_shared<Clip>();
    constexpr double kRate = 8000, kAmplitude = 3000;  // about -20 dBFS
    for (const double f : {440.0, 554.37}) {
      for (int i = 0; i < 3200; ++i) {  // 400 ms, faded in and out over 20 ms
        const double fade = std::min({1.0, i / 160.0, (3200 - i) / 160.0});
        clip->samples_.push_back(static_cast<int16_t>(kAmplitude * fade * std::sin(2 * M_PI * f * i / kRate)));
      }
      clip->samples_.insert(clip->samples_.end(), 800, 0);  // 100 ms
    }
    return clip;
  }();
  return built;
}

void transcodeG711(uint8_t* payload, size_t n, uint8_t fromPt) {
  if (fromPt == 0)
    for (size_t i = 0; i < n; ++i) payload[i] = ulaw_to_alaw(payload[i]);
  else
    for (size_t i = 0; i < n; ++i) payload[i] = alaw_to_ulaw(payload[i]);
}

void encodeG711(const int16_t* samples, size_t n, uint8_t pt, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = pt == 0 ? linear_to_ulaw(samples[i]) : linear_to_alaw(samples[i]);
}

}  // namespace sb::media
