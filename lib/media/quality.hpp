#pragma once
// An estimated MOS for a call leg from what RTCP measures (lib/media/rtcp.hpp):
// the E-model of ITU-T G.107, simplified the usual way for one codec and
// default terminals (Cole and Rosenbluth, "Voice over IP performance
// monitoring", 2001), because the inputs a relay has are loss, jitter and
// round-trip time, not loudness ratings or echo paths:
//
//   R   = 93.2 - Id(d) - Ie_eff(Ppl)
//   d   = one-way mouth-to-ear delay: RTT / 2 plus what the phone's jitter
//         buffer and packetisation add (oneWayDelayMs)
//   Id  = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)           (ms)
//   Ie_eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)       (G.107 §7.6, eq. 7-29)
//   MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6           (G.107 Annex B)
//
// G.711 has Ie = 0 (G.113 Appendix I, Table I.1) and, with the packet loss
// concealment of G.711 Appendix I that phones run, Bpl = 25.1 (Table I.3;
// 4.3 without it). Loss is taken as random (BurstR = 1): RTCP's counters do
// not tell bursts apart.
namespace sb::media {

// What a leg's RTCP tells (lib/media/rtcp.hpp, LegRtcp::quality).
struct Quality {
  double mos = 0;
  double jitterMs = 0;
  double lossPercent = 0;
  double rttMs = -1;  // -1: not measured (the leg never answered a sender report of ours)
};

inline constexpr double kG711Ie = 0.0;
inline constexpr double kG711PlcBpl = 25.1;

// The delay the E-model's Id is read at: half the round trip (0 when not
// measured: a LAN), one 20 ms frame of packetisation, and a jitter buffer
// deep enough for twice the interarrival jitter, at least one frame.
double oneWayDelayMs(double rttMs, double jitterMs);
// R (G.107 §7), from the one-way delay and the packet loss in percent.
double rFactor(double delayMs, double lossPercent, double ie = kG711Ie, double bpl = kG711PlcBpl,
               double burstR = 1.0);
// G.107 Annex B, clamped to 1..4.5.
double mosFromR(double r);
// The three above for a G.711 stream.
double estimateMos(double lossPercent, double jitterMs, double rttMs);

}  // namespace sb::media
