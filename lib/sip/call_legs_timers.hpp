#pragma once
// What one call leg keeps for its RFC 4028 session timer (call_legs_timers.cpp),
// part of CallLegs::Leg. Not for use outside lib/sip/call_legs*.
#include <sofia-sip/nta.h>

#include <string>

#include "sip/dialog/session_timer.hpp"
#include "sip/sofia.hpp"
#include "sip/trunk_auth.hpp"

namespace sb::sip {

struct LegSessionTimer {
  dialog::SessionTimer timer;  // inactive: no session timer on this leg
  dialog::UacOffer offer;      // outbound: what our INVITE asked for
  dialog::Refresher refresher = dialog::Refresher::uas;  // inbound: named in our 2xx
  bool requireTimer = false;                            // inbound: Require: timer in our 2xx
  TimerPtr clock;                                       // our refresh, or the expiry, is due
  nta_outgoing_t* refresh = nullptr;                    // our refresh in flight
  bool refreshIsInvite = false;
  // Through a trunk with credentials: the answers to its 401/407 on our
  // refresh, which is then sent again (RFC 3261 §22.2), and its ACK repeats.
  TrunkAuth auth;
  // The SDP we last sent on this leg (our answer inbound, our offer outbound,
  // or what we relayed into it), which a refresh re-INVITE repeats unchanged
  // (RFC 3264 §8: same o= version, no change), and the peer's last SDP, to
  // tell a peer's pure refresh re-INVITE from one that changes the session.
  std::string localSdp, peerSdp;
  bool peerAllowsUpdate = false;  // UPDATE in the peer's Allow (RFC 3311)

  LegSessionTimer() = default;
  LegSessionTimer(const LegSessionTimer&) = delete;
  LegSessionTimer& operator=(const LegSessionTimer&) = delete;
  ~LegSessionTimer() {
    if (refresh) nta_outgoing_destroy(refresh);
  }
};

}  // namespace sb::sip
