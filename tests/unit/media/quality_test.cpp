// The simplified E-model (ITU-T G.107) behind a leg's MOS: G.711, Ie 0,
// Bpl 25.1 (G.113 Appendix I, with packet loss concealment).
#include <doctest/doctest.h>

#include "media/quality.hpp"

using namespace sb::media;

TEST_CASE("quality: MOS from R (G.107 Annex B), clamped to 1..4.5") {
  CHECK(mosFromR(-5) == 1.0);
  CHECK(mosFromR(0) == 1.0);
  CHECK(mosFromR(3) == 1.0);  // the polynomial dips below 1 there
  CHECK(mosFromR(93.2) == doctest::Approx(4.41).epsilon(0.001));
  CHECK(mosFromR(50) == doctest::Approx(2.58).epsilon(0.01));
  CHECK(mosFromR(100) == 4.5);
  CHECK(mosFromR(120) == 4.5);
}

TEST_CASE("quality: a clean call on a LAN is about 4.4") {
  const double clean = estimateMos(0, 0, -1);
  CHECK(clean == doctest::Approx(4.39).epsilon(0.005));
  CHECK(estimateMos(0, 0.5, 1) == doctest::Approx(clean).epsilon(0.002));
  CHECK(oneWayDelayMs(-1, 0) == 40);   // a frame of packetisation and a frame of jitter buffer
  CHECK(oneWayDelayMs(100, 30) == 50 + 20 + 60);
}

TEST_CASE("quality: loss costs much more than LAN delay") {
  const double clean = estimateMos(0, 0, 1);
  const double one = estimateMos(1, 0, 1);
  const double five = estimateMos(5, 0, 1);
  const double ten = estimateMos(10, 0, 1);
  CHECK(one < clean);
  CHECK(five < 4.0);
  CHECK(five == doctest::Approx(3.88).epsilon(0.01));
  CHECK(ten == doctest::Approx(3.36).epsilon(0.01));
  CHECK(ten < five);
  // Without concealment (Bpl 4.3) the same loss is far worse.
  CHECK(mosFromR(rFactor(40, 5, kG711Ie, 4.3)) < 2.5);
  // Delay: below ~177 ms it costs little, beyond it a lot (G.107's knee).
  CHECK(estimateMos(0, 0, 200) > 4.2);
  CHECK(estimateMos(0, 0, 600) < 3.6);
  CHECK(estimateMos(100, 0, 0) < 1.2);  // nothing arrives: about the floor
}
