#include "media/quality.hpp"

#include <algorithm>

namespace sb::media {

double oneWayDelayMs(double rttMs, double jitterMs) {
  constexpr double kFrameMs = 20;  // RFC 3551 §4.5.14: G.711 in 20 ms packets
  const double network = rttMs > 0 ? rttMs / 2 : 0;
  const double buffer = std::max(kFrameMs, 2 * std::max(0.0, jitterMs));
  return network + kFrameMs + buffer;
}

double rFactor(double delayMs, double lossPercent, double ie, double bpl, double burstR) {
  constexpr double kR0MinusIs = 93.2;  // G.107's default R with no delay and no loss
  const double d = std::max(0.0, delayMs);
  const double id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0.0);
  const double ppl = std::clamp(lossPercent, 0.0, 100.0);
  const double ieEff = ie + (95 - ie) * ppl / (ppl / burstR + bpl);
  return kR0MinusIs - id - ieEff;
}

double mosFromR(double r) {
  if (r <= 0) return 1.0;
  if (r >= 100) return 4.5;
  const double mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
  return std::clamp(mos, 1.0, 4.5);
}

double estimateMos(double lossPercent, double jitterMs, double rttMs) {
  return mosFromR(rFactor(oneWayDelayMs(rttMs, jitterMs), lossPercent));
}

}  // namespace sb::media
