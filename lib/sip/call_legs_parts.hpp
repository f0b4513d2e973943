#pragma once
// The inside of CallLegs, shared by its files (call_legs.cpp and
// call_legs_{inbound,outbound,relay,sofia}.cpp; split along those seams to keep
// each under the project's ~600 lines): the Leg, Fork and Relay records that
// hold the Sofia handles of one call, and the noexcept trampolines through
// which Sofia calls back into them. Not for use outside lib/sip/call_legs*.
#include <sofia-sip/nta.h>
#include <sofia-sip/sip_status.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "sip/call_legs.hpp"
#include "sip/call_legs_timers.hpp"
#include "sip/trunk_auth.hpp"

namespace sb::sip {

// What we take and say in every dialog (RFC 3261 §20.5).
inline constexpr const char* kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY, REFER";
// The Supported line of the INVITEs and 2xx that set up a dialog with a desk
// phone: our RFC 4028 `lines` (Supported: timer, Session-Expires, ...) with
// `replaces` added (RFC 3891 §6.1: a phone offers attended transfer only to a
// peer that says it takes Replaces, which our REFER handling does). A trunk's
// dialogs are not told: an INVITE with Replaces from a PBX is not handled.
inline std::string withReplaces(const std::string& lines, bool deskPhone) {
  if (!deskPhone) return lines;
  const std::string timer = "Supported: timer";
  if (lines.compare(0, timer.size(), timer) == 0) return timer + ", replaces" + lines.substr(timer.size());
  if (const size_t at = lines.find("\r\n" + timer); at != std::string::npos)
    return lines.substr(0, at + 2 + timer.size()) + ", replaces" + lines.substr(at + 2 + timer.size());
  return lines.empty() ? "Supported: replaces" : lines + "\r\nSupported: replaces";
}

// RFC 3261 §9.1: a CANCELled INVITE still without a final answer after 64*T1 is
// given up; so is a fork that lost to another fork's 2xx.
inline constexpr int64_t kOrphanMs = 32'000;

struct CallLegs::Fork {
  CallLegs* owner = nullptr;
  core::LegId legId = 0;  // 0 once orphaned
  nta_leg_t* dialog = nullptr;
  nta_outgoing_t* orq = nullptr;
  std::string routeUrl;  // next hop (a phone's NAT source), empty: by the Request-URI
  int status = 0;
  int64_t orphanedAtMs = 0;
  // Through a trunk with credentials: what it takes to send the INVITE again
  // when the trunk challenges it (RFC 3261 §22.2), and the answers sent.
  TrunkAuth auth;
  std::string requestUri, maxForwards, contentType, offer;
  std::string identity;  // P-Asserted-Identity / Privacy lines (RFC 3325, RFC 3323), "" for none
  // A desk phone's 18x that opened an early dialog and offered the `talk` event
  // package (a reference, kept for Call.accept), and the NOTIFY sent on it.
  msg_t* early = nullptr;
  nta_outgoing_t* talk = nullptr;
  // RFC 4028 §7.1: the session timer this INVITE asks for; raised once after a 422.
  dialog::UacOffer timerOffer;
  bool retried422 = false;

  ~Fork() {
    if (talk) nta_outgoing_destroy(talk);
    if (orq) nta_outgoing_destroy(orq);
    if (early) msg_destroy(early);
    if (dialog) nta_leg_destroy(dialog);
  }
};

// A request received on one leg and sent on, in the same dialog, on the other.
struct CallLegs::Relay {
  CallLegs* owner = nullptr;
  core::LegId from = 0;  // where it came in (its irq waits for the answer)
  core::LegId to = 0;    // where it went out
  nta_incoming_t* irq = nullptr;
  nta_outgoing_t* orq = nullptr;
  sip_method_t method = sip_method_unknown;
  bool offerless = false;  // a re-INVITE without a body: its 2xx carries the offer
  // The SDP offer of this exchange as its author sent it (the request's, or
  // an offerless re-INVITE's 2xx's): what the answer's laws are put back to.
  std::string offer;
  std::string sent;  // the request's SDP as `to` gets it (relayedSdp), the same when sent again
  bool answered = false;   // irq has its final answer (kept only to see its ACK)
  // Into a trunk with credentials: the request as received (a reference, to
  // send it again when the trunk challenges it) and the answers sent.
  msg_t* request = nullptr;
  TrunkAuth auth;
  // A re-INVITE or UPDATE: our RFC 4028 answer on the leg it came from, applied with its 2xx.
  std::optional<dialog::UasDecision> timerAnswer;
  ~Relay() {
    if (orq) nta_outgoing_destroy(orq);
    if (request) msg_destroy(request);
    if (irq) {
      // The other side vanished before answering: the dialog is gone for them
      // too (RFC 3261 §12.2.2).
      if (!answered) nta_incoming_treply(irq, SIP_481_NO_TRANSACTION, TAG_END());
      nta_incoming_destroy(irq);
    }
  }
};

// Call.sendDigits on a leg (call_legs_digits.cpp): the digits still to send,
// the INFO in flight (one at a time, so the far end gets them in order), and
// the trunk's answers if it challenges one.
struct LegDigits {
  std::string pending;
  nta_outgoing_t* orq = nullptr;
  TrunkAuth auth;
  LegDigits() = default;
  LegDigits(const LegDigits&) = delete;
  LegDigits& operator=(const LegDigits&) = delete;
  ~LegDigits() {
    if (orq) nta_outgoing_destroy(orq);
  }
};

// Hold on a leg (call_legs_hold.cpp): the state core asked for and not yet
// sent, our re-INVITE in flight and what it asks, and the far end's own hold.
struct LegHold {
  std::optional<bool> wanted;
  // Third-party call control: a new offer to send (the other party's SDP
  // under this leg's origin), before or instead of a hold change.
  std::optional<std::string> reoffer;
  // ReofferLeg::then: the leg to re-offer this one's answer to, before the
  // re-INVITE goes (reofferThen) and while it is out (answerTo).
  core::LegId reofferThen = 0;
  core::LegId answerTo = 0;
  bool sendingReoffer = false;  // the re-INVITE in flight is a re-offer, not a hold change
  nta_outgoing_t* orq = nullptr;
  bool sending = false;  // what the re-INVITE in flight asks: hold or resume
  bool held = false;     // what the last one answered 2xx made it
  std::string body;
  TrunkAuth auth;
  // Session versions we added to the SDP this leg gets (one per hold or
  // resume): the far party's own SDP relayed onto it later is raised as much,
  // so the leg never sees a version go back (RFC 3264 §8).
  uint64_t versionShift = 0;
  bool peerHeld = false;  // the far end's last offer asked to receive nothing
  // Anchored media, an agent's leg (BridgeLegs::ownHold): its own holds are
  // answered here, not relayed (the customer keeps hearing us: our music).
  bool answeredHere = false;
  TimerPtr retry;
  LegHold() = default;
  LegHold(const LegHold&) = delete;
  LegHold& operator=(const LegHold&) = delete;
  ~LegHold() {
    if (orq) nta_outgoing_destroy(orq);
  }
};

// Inbound, from our 2xx to its ACK (call_legs_inbound.cpp): RFC 3261
// §13.3.1.4's wait, timed by us as well as by nta. Debian's Sofia 1.12.11 can
// fire Timer H for every INVITE awaiting its ACK at once, long before 64*T1
// (its cached millisecond clock is zeroed mid-timer: docs/ARCHITECTURE.md,
// "Sofia's early Timer H"). When it does, nta's transaction is over and we
// keep the wait ourselves: the 2xx and its INVITE (references) to retransmit
// the 2xx at T1 doubling to T2, the timer for that and for the real deadline,
// and the ACK then reaches the leg's dialog (nta has no transaction left to
// absorb it in).
struct LegAckWait {
  int64_t answeredAtMs = 0;  // monotonic, when our 2xx went out
  msg_t* request = nullptr;
  msg_t* response = nullptr;
  int64_t intervalMs = 0;  // the last retransmission interval
  TimerPtr timer;
  bool ours() const { return response != nullptr; }  // nta gave up early, we wait
  void clear() {
    timer.reset();
    if (request) msg_destroy(std::exchange(request, nullptr));
    if (response) msg_destroy(std::exchange(response, nullptr));
  }
  LegAckWait() = default;
  LegAckWait(const LegAckWait&) = delete;
  LegAckWait& operator=(const LegAckWait&) = delete;
  ~LegAckWait() { clear(); }
};

// One side of a call. Inbound: the customer's INVITE server transaction and the
// dialog we answer it in. Outbound: while calling, one Fork per contact; after the
// first 2xx, the winning fork's dialog.
struct CallLegs::Leg {
  enum class State {
    early,      // inbound: not answered; outbound: calling
    answered,   // inbound: our 2xx sent, its ACK not yet here
    confirmed,  // dialog up
  };
  CallLegs* owner = nullptr;
  core::LegId id = 0;
  bool inbound = true;
  State state = State::early;
  nta_incoming_t* irq = nullptr;
  nta_leg_t* dialog = nullptr;
  std::string routeUrl;
  std::string contentType = "application/sdp";
  std::string sdp;            // inbound: the customer's offer; outbound: the agent's answer
  // Inbound, queue music (SendProvisional::answerHere): our own answer to its
  // offer, sent in a 183 and again in the 200 (RFC 3261 §13.2.1); the legs
  // rung with its offer get it narrowed to this answer's codec.
  std::string ownAnswer;
  unsigned maxForwards = 70;  // what the next hop gets (already decremented)
  core::LegId peer = 0;
  bool byeAfterAck = false;  // RFC 3261 §15: no BYE before our 2xx is ACKed
  bool byeWhenIdle = false;  // hung up while a re-INVITE of ours was out (CallLegs::byeIfIdle)
  bool ringingReported = false;
  bool remoteAnswerReported = false;  // a fork's 18x offered `talk` (LegRinging)
  std::string callerNumber;  // outbound: presented in From
  // Outbound to a customer through a trunk: an anonymous From (privacy), and
  // the identity lines every INVITE of the leg carries.
  bool anonymousFrom = false;
  bool thirdParty = false;  // rung without an offer by core (RFC 3725); its 2xx offer is parked
  std::string identity;
  // Outbound: the SDP of a fork's 18x (early media, RFC 3261 §13.3.1.1), for
  // the other leg's provisional; reported to core once (LegRinging::earlyMedia).
  std::string earlySdp;
  bool earlyReported = false;
  std::string trunk;         // the trunk it came from (inbound) or goes through (outbound); "" for a desk phone
  int bestFailure = 0;
  std::vector<std::unique_ptr<Fork>> forks;
  // Outbound, after an INVITE without an offer (RFC 3261 §13.2.1, RFC 3264
  // §5): the agent's 2xx carried the offer, so its ACK must carry the answer,
  // which comes in the customer's ACK. Until then the winning fork is kept:
  // its live transaction absorbs the 2xx's retransmissions (nta discards them
  // as duplicates instead of treating them as strays).
  bool offerless = false;
  std::unique_ptr<Fork> ackFork;
  uint32_t ackCseq = 0;
  // The same for a relayed re-INVITE without an offer (RFC 3261 §14.1): its
  // 2xx on this leg waits for the answer in the other leg's ACK.
  std::unique_ptr<Relay> ackRelay;
  LegSessionTimer session;  // RFC 4028, call_legs_timers.cpp
  LegDigits digits;         // Call.sendDigits, call_legs_digits.cpp
  LegHold hold;             // Call.hold and the far ends' holds, call_legs_hold.cpp
  LegAckWait ackWait;       // inbound: our 2xx waiting for its ACK, call_legs_inbound.cpp
  std::string inviteKey;    // inbound: its INVITE's transaction key (inviteKey, RFC 3261 §17.2.3)

  ~Leg() {
    if (irq) nta_incoming_destroy(irq);
    if (dialog) nta_leg_destroy(dialog);
  }
};


// The BYE that ends a leg through a trunk with credentials: the leg's dialog,
// kept past the leg until the BYE has its final answer, so a 401/407 can be
// answered in the same dialog with CSeq one higher (RFC 3261 §22.2). Given up
// after 64*T1 like an orphan (nta's Timer F ends the BYE before that).
struct CallLegs::Closing {
  CallLegs* owner = nullptr;
  nta_leg_t* dialog = nullptr;
  nta_outgoing_t* orq = nullptr;
  std::string routeUrl;
  TrunkAuth auth;
  int64_t startedAtMs = 0;
  ~Closing() {
    if (orq) nta_outgoing_destroy(orq);
    if (dialog) nta_leg_destroy(dialog);
  }
};

// ---- trampolines: the C boundary (defined in call_legs_sofia.cpp) -----------------------

// Every Sofia callback into CallLegs enters here: noexcept, counts the nesting
// (so handles are released only once the outermost callback returns, see
// CallLegs::leave) and logs instead of letting an exception unwind into C.
struct LegCallbacks {
  template <typename Fn>
  static int guarded(CallLegs& owner, const char* what, Fn&& fn) noexcept {
    ++owner.depth_;
    int r = 500;
    try {
      r = fn();
    } catch (const std::exception& e) {
      SB_ERROR("calls", "%s failed: %s", what, e.what());
    }
    try {
      owner.leave();
    } catch (const std::exception& e) {
      SB_ERROR("calls", "after %s: %s", what, e.what());
    }
    return r;
  }
  static int dialogRequest(nta_leg_magic_t* m, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) noexcept;
  // Requests on a fork's early dialog: nothing is relayed before the answer.
  static int forkRequest(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*) noexcept;
  static int inviteServer(nta_incoming_magic_t* m, nta_incoming_t* irq, const sip_t* sip) noexcept;
  static int forkResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept;
  static int talkResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept;
  static int relayResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept;
  static int closingResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept;
  // Requests in a dialog whose BYE is out: a crossing BYE is answered 200
  // (RFC 3261 §15.1.2, the session is over either way), anything else 481.
  static int closingRequest(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t* sip) noexcept;
  // RFC 4028 (call_legs_timers.cpp): a leg's refresh or expiry is due; the answer to our refresh.
  static void sessionTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept;
  static int refreshResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept;
  // The answer to an INFO of Call.sendDigits (call_legs_digits.cpp).
  static int digitResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept;
  // Hold (call_legs_hold.cpp): the answer to our re-INVITE, and its retry.
  static int holdResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept;
  static void holdRetry(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept;
  // Our own wait for the ACK of a 2xx after nta's early Timer H (call_legs_inbound.cpp).
  static void ackWait(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept;
};

// A peer's digest challenge to a request we sent (RFC 3261 §22.2): 401 or 407
// from the far end, not nta's own answer (which carries no challenge).
inline bool isChallenge(int status, const sip_t* sip) {
  return (status == 401 || status == 407) && sip && !nta_sip_is_internal(sip);
}

// RFC 3261 §12.2.1.2: a 408 or 481 to a request we sent in a dialog, or no
// answer at all (nta's own 408, or its 503 on a transport error), means the
// peer is gone. `code` 0: it is not; else the leg ends with `code`, with a BYE
// only when the peer itself answered 408 (it may still be there to hear it).
struct DialogGone {
  int code = 0;
  bool bye = false;
};
inline DialogGone dialogGone(int status, const sip_t* sip) {
  const bool unanswered = nta_sip_is_internal(sip) && (status == 408 || status == 503);
  if (status != 408 && status != 481 && !unanswered) return {};
  return {status == 481 ? 481 : 408, status == 408 && !unanswered};
}

// The Request-URI an outgoing request went to (the digest uri, RFC 7616 §3.4).
std::string requestUriOf(nta_outgoing_t* orq);

}  // namespace sb::sip
