#pragma once
// The B2BUA's call legs on the daemon's one nta agent (docs/ARCHITECTURE.md,
// "Why nta legs for calls"). core/ decides, this class carries out: it turns a
// trunk's INVITE into an inbound leg, core's RingLeg into outbound INVITEs (one
// per registered contact of a desk phone, or one through a trunk), and reports
// what happens on the wire as core::LegFact. It speaks of legs only by the
// core::LegId core gave them.
//
// What nta does for us with NTATAG_UA(1) (research/calls-on-sofia.md): 2xx
// retransmission until ACK (RFC 3261 §13.3.1.4), ACK absorption, in-dialog CSeq
// order (§12.2.2), 487 to a CANCELled INVITE (§9.2), Timer H. What it leaves to
// us, and this file does: dialog creation and route sets (§12.1), ACK for a 2xx
// we receive (§13.2.2.4), ACK+BYE of a 2xx that crosses our CANCEL (§9.1),
// holding BYE until our 2xx is ACKed (§15), first-2xx-wins among forks,
// relaying in-dialog requests between bridged legs, 491 on re-INVITE glare
// (§14.2), and Max-Forwards carried across the B2BUA (§16.6 step 3, 483).
#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/call_facts.hpp"
#include "core/device_facts.hpp"
#include "core/outputs.hpp"
#include "sip/dialog/session_timer.hpp"
#include "sip/sdp_edit.hpp"
#include "sip/sofia.hpp"
#include "sip/trunk_auth.hpp"

namespace sb::metrics {
class Metrics;
}
#include "media/engine.hpp"

namespace sb::sip {

class CallLegs {
 public:
  struct Hooks {
    // core/ decides what to do with a new inbound call.
    std::function<core::InboundDecision(const core::InboundCall&)> decide;
    // Carries out a decision's outputs (events, timers and leg actions, in order).
    std::function<void(core::Outputs&&)> perform;
    // A fact about a leg, for core/.
    std::function<void(const core::LegFact&)> fact;
  };
  using ContactLookup = std::function<std::vector<core::ContactInfo>(const std::string& extensionId)>;

  CallLegs(su_root_t* root, nta_agent_t* agent, const config::Config& config, metrics::Metrics& metrics,
           ContactLookup contacts, std::string serverHeader);
  ~CallLegs();
  CallLegs(const CallLegs&) = delete;
  CallLegs& operator=(const CallLegs&) = delete;

  void setHooks(Hooks hooks) { hooks_ = std::move(hooks); }
  // Anchored media (call_legs_media.cpp): the engine whose endpoints every
  // leg's SDP names, advertised as `address`; none (bypass): SDP passes through.
  void setMedia(media::MediaEngine* engine, std::string address);
  // What the engine saw on a leg: nothing from one that should be sending,
  // for media.rtpTimeoutSeconds (the call ends), or a key (RFC 4733).
  void mediaFact(const media::MediaFact& fact);
  void applyConfig(const config::Config& config);

  // A new INVITE (no To tag) from `trunk`, straight from the stateless callback:
  // takes ownership of msg.
  void onTrunkInvite(msg_t* msg, sip_t* sip, const config::Trunk& trunk);
  // A new INVITE from a desk phone, digest-authenticated as `extension`, from
  // `source` (transport/host:port, where our requests in its dialog go).
  void onDeskPhoneInvite(msg_t* msg, sip_t* sip, const std::string& extension, const std::string& source);
  // Carries out one of core's leg actions (events and timers are not for us).
  void execute(const core::Action& action);

  // Legs still holding Sofia state (live calls, and legs being torn down).
  size_t liveLegs() const { return legs_.size(); }
  size_t tearingDown() const { return orphans_.size() + closings_.size(); }
  // Live inbound calls from a trunk (admission control).
  size_t inboundCalls(const std::string& trunk) const;
  // Whether a new INVITE (no To tag) is one we already made a leg for, live or
  // ended within 64*T1: a retransmission whose transaction nta no longer holds
  // (RFC 3261 §17.2.3; after an early Timer H, see LegAckWait), to be absorbed
  // by the stateless front door rather than become a second call.
  bool knownInvite(const sip_t* sip) const;

  struct Leg;
  struct Fork;
  struct Relay;
  struct Closing;

  // Actions performed between enter() and leave() form one batch: facts they
  // cause reach core only after the whole batch (so the SIP layer never feeds
  // core a fact in the middle of carrying out another input's actions).
  void enter() { ++depth_; }
  void leave();

 private:
  friend struct LegCallbacks;
  void acceptInvite(msg_t* msg, sip_t* sip, const std::string& trunk, const std::string& extension,
                    const std::string& routeUrl);
  void orphan(std::unique_ptr<Fork> fork);
  // `cseq`, `authLines`: the INVITE's being ACKed (RFC 3261 §13.2.2.4); a body
  // is the SDP answer to an offer in the 2xx (RFC 3264 §5).
  void sendAck(nta_leg_t* dialog, const std::string& routeUrl, uint32_t cseq, const std::string& authLines = {},
               const std::string& contentType = {}, const std::string& body = {});
  // The deferred ACK of an offerless call's agent leg, with the customer's answer.
  void sendPendingAck(Leg& leg, const std::string& contentType, const std::string& body);
  // Anchored media (call_legs_media.cpp): `body` as leg `to` gets it, and
  // what leg `from`'s SDP says. Legs hear each other once bridged (or, for
  // early media, once one's 18x SDP is passed to the other).
  std::string present(Leg& to, const std::string& body);
  // What `from`'s SDP says, as the engine was told; nullopt when no audio was read.
  std::optional<SdpAudio> learn(Leg& from, const std::string& body, bool silent = false);
  // SDP from one leg's peer relayed onto `to` (a re-INVITE's or UPDATE's
  // offer, its answer, the answer in an ACK): `offer` empty, `body` is an
  // offer; else the answer to `offer`, as its author sent it.
  std::string relayedSdp(Leg& to, const std::string& body, const std::string& offer);
  // A renegotiated answer from `leg`'s side: core learns whether the codec
  // is still one the engine decodes (core::LegCodec).
  void renegotiated(Leg& leg, const std::optional<SdpAudio>& answer);
  void muteLeg(const core::MuteLeg& a);
  void playToLeg(const core::PlayToLeg& a);
  // Queue music: our own answer to an inbound leg's offer in a 183, or a 180
  // when it has none we can give (SendProvisional::answerHere).
  void earlyAnswer(Leg& leg);
  void recordLeg(const core::RecordLeg& a);
  void mixLeg(const core::MixLeg& a);
  void acked(Leg& leg, const sip_t* ack);
  // The ACK of our 2xx never came (RFC 3261 §13.3.1.4): nta's Timer H, when
  // it is not early, or the end of our own wait (call_legs_inbound.cpp).
  void ackTimedOut(Leg& leg);
  void awaitAckOurselves(Leg& leg, nta_incoming_t* irq);
  void onAckWait(Leg& leg);
  void armAckWait(Leg& leg);
  bool retransmit2xx(Leg& leg);
  std::optional<int> inviteRetransmitted(Leg& leg, nta_incoming_t* irq, const sip_t* sip);
  void adoptDialog(nta_leg_t* dialog, const sip_t* sip);
  void prack(Fork& fork, nta_outgoing_t* orq, const sip_t* sip);  // a reliable 18x (RFC 3262 §4)
  // Call.sendDigits (call_legs_digits.cpp).
  void sendDigits(const core::SendDigits& a);
  bool sendDigit(Leg& leg, bool challenged = false);
  int onDigitResponse(Leg& leg, nta_outgoing_t* orq, const sip_t* sip);
  // Hold (call_legs_hold.cpp).
  void holdLeg(const core::HoldLeg& a);
  void reofferLeg(const core::ReofferLeg& a);
  // REFER (call_legs_refer.cpp).
  int onRefer(Leg& leg, nta_incoming_t* irq, const sip_t* sip);
  core::LegId legByReplaces(const std::string& value);
  void notifyRefer(const core::NotifyRefer& a);
  void sendReferNotify(Leg& leg, int code);
  void tryHold(Leg& leg);
  bool sendHold(Leg& leg, const std::string& authLines);
  void armHoldRetry(Leg& leg, int64_t ms);
  int onHoldResponse(Leg& leg, nta_outgoing_t* orq, const sip_t* sip);
  void notePeerHold(Leg& from, const std::string& sdp);
  // A desk phone's own hold (or resume) on a leg answered here: our 200.
  std::optional<int> holdHere(Leg& leg, nta_incoming_t* irq, const sip_t* sip, const dialog::UasDecision& d);
  void ring(const core::RingLeg& a);
  void ringFork(Leg& leg, const std::string& requestUri, const std::string& routeUrl, const std::string& toUri,
                const std::string& trunk = {});
  bool sendInvite(Fork& fork, const std::string& authLines);
  bool challenged(Fork& fork, nta_outgoing_t* orq, const sip_t* sip, int status);
  void provisional(const core::SendProvisional& a);
  void answer(const core::AnswerLeg& a);
  void reject(const core::RejectLeg& a);
  void cancel(const core::CancelLeg& a);
  void hangUp(const core::HangUpLeg& a);
  void answerRemotely(const core::AnswerRemotely& a);
  void bridge(const core::BridgeLegs& a);

  // Sofia callbacks, through the noexcept trampolines in call_legs_sofia.cpp.
  int onInviteServerEvent(Leg& leg, nta_incoming_t* irq, const sip_t* sip);
  int onDialogRequest(Leg& leg, nta_incoming_t* irq, const sip_t* sip);
  int onForkResponse(Fork& fork, nta_outgoing_t* orq, const sip_t* sip);
  int onTalkResponse(Fork& fork, nta_outgoing_t* orq, const sip_t* sip);
  int onRelayResponse(Relay& relay, nta_outgoing_t* orq, const sip_t* sip);
  int onClosingResponse(Closing& closing, nta_outgoing_t* orq, const sip_t* sip);
  nta_outgoing_t* sendRelayed(Relay& r, Leg& to, const sip_t* request, const std::string& authLines);
  bool challenged(Relay& r, nta_outgoing_t* orq, const sip_t* sip, int status);
  void forkAnswered(Leg& leg, Fork& fork, const sip_t* sip);
  void forkFailed(Leg& leg, Fork& fork, int status);
  int relay(Leg& from, nta_incoming_t* irq, const sip_t* sip);
  void sendBye(Leg& leg);
  // A hung-up leg whose re-INVITE is still out: BYEd once it has its answer.
  bool inviteInFlight(const Leg& leg) const;
  bool relayedInvite(core::LegId leg, bool eitherWay) const;
  void byeIfIdle(Leg& leg);
  bool sendBye(Closing& closing, const std::string& authLines);
  // The credentials of the trunk by that name ("" or unknown: none).
  TrunkAuth authFor(const std::string& trunk) const;
  void ackAndBye(Fork& fork, const sip_t* sip);

  // RFC 4028 session timers and RFC 3262 (call_legs_timers.cpp).
  bool refuseByTimer(nta_incoming_t* irq, const sip_t* sip, Leg& leg);
  std::string uasTimerLines(const Leg& leg) const;
  std::string uacTimerLines(const dialog::UacOffer& offer, std::optional<dialog::Refresher> refresher) const;
  void answered(Leg& leg, const std::string& sdp);
  bool tooBrief(Fork& fork, const sip_t* sip, int status);
  // The 2xx's SDP, as learn() read it.
  std::optional<SdpAudio> forkTimerUp(Leg& leg, Fork& fork, const sip_t* sip);
  void armSessionTimer(Leg& leg, int64_t ms);
  void restartSessionTimer(Leg& leg);
  void onSessionTimer(Leg& leg);
  bool sendRefresh(Leg& leg, bool challenged = false);
  int onRefreshResponse(Leg& leg, nta_outgoing_t* orq, const sip_t* sip);
  void endLeg(Leg& leg, int code, bool bye);
  std::optional<int> peerRefresh(Leg& leg, nta_incoming_t* irq, const sip_t* sip);
  void applyTimerAnswer(Leg& leg, const dialog::UasDecision& d);
  std::optional<dialog::UasDecision> relayTimerAnswer(const sip_t* request) const;
  std::string relayTimerLines(const Leg& to, sip_method_t m) const;
  // `fromSdp`: the response's SDP as `from` got it (relayedSdp).
  void relayedRefresh(Relay& r, Leg* from, Leg* to, const sip_t* response, const std::string& fromSdp);
  void relayedOffer(Leg& from, Leg& to, const Relay& r);
  void ownReinviteAnswered(Leg& leg, const sip_t* response);

  Leg* find(core::LegId id);
  void report(const core::LegFact& fact);
  // Ends our interest in a leg: its Sofia handles are released once the
  // current callback has returned (so no callback runs on a freed object).
  void retire(core::LegId id);
  void reap();
  void sweep();
  static void onSweep(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept;

  su_root_t* root_;
  nta_agent_t* agent_;
  metrics::Metrics& metrics_;
  ContactLookup contacts_;
  std::string server_;
  std::string domain_;
  std::vector<config::Trunk> trunks_;
  dialog::TimerPolicy timerPolicy_;
  Hooks hooks_;
  media::MediaEngine* media_ = nullptr;  // anchored media; null in bypass
  std::string mediaAddress_;
  std::map<core::LegId, std::unique_ptr<Leg>> legs_;
  // Forks we CANCELled or lost to another fork's 2xx: kept until their final
  // response (a crossing 2xx is ACKed and BYEd) or 64*T1 (RFC 3261 §9.1).
  std::map<Fork*, std::unique_ptr<Fork>> orphans_;
  // In-dialog requests relayed to the other leg, by their outgoing transaction.
  std::map<nta_outgoing_t*, std::unique_ptr<Relay>> relays_;
  // Released once the outermost callback or batch returns (see enter/leave).
  std::vector<std::unique_ptr<Leg>> graveyard_;
  std::vector<std::unique_ptr<Fork>> forkGraveyard_;
  std::vector<std::unique_ptr<Relay>> relayGraveyard_;
  // BYEs to trunks that may challenge them (see Closing), and their graveyard.
  std::map<Closing*, std::unique_ptr<Closing>> closings_;
  std::vector<std::unique_ptr<Closing>> closingGraveyard_;
  // Transactions superseded by a re-sent request, released like the rest.
  std::vector<nta_outgoing_t*> orqGraveyard_;
  std::deque<core::LegFact> pending_;
  // sip.testT1x64Ms as nta was created with (a restart key): the real Timer H.
  int64_t t1x64Ms_ = 32000;
  // Inbound INVITEs by inviteKey: 0 while their leg lives, else when they may
  // be forgotten (64*T1 after it ended, past the caller's Timer B). See knownInvite.
  std::unordered_map<std::string, int64_t> invites_;
  // Early Timer Hs from nta not believed since the last warning, and when that was.
  uint64_t earlyTimerH_ = 0;
  int64_t earlyTimerHLoggedAtMs_ = 0;
  TimerPtr sweeper_;
  int depth_ = 0;  // nesting of callbacks and batches into this object
};

}  // namespace sb::sip
