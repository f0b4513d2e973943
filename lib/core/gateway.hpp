#pragma once
// The domain state of one seatbridge: agents, sessions and desk-phone lines.
// Sans-I/O and single-threaded: the SIP thread owns the one Gateway and drives
// it with inputs (registrar facts, control-socket methods, timer firings, later
// SIP call facts), each carrying `now`. Every input returns what to do next
// (Outputs: events, timers) and, for a method, its Result.
//
// Typical use on the SIP thread:
//   core::Outcome o = gateway.agentSetStatus(userId, "rest", "Meal", monotonicNow());
//   reply(o.result);                        // success data or {errorCode, errorMsg}
//   for (auto& e : o.outputs.events) publish(e);
//   for (auto& t : o.outputs.timers) schedule(t);   // later: gateway.onTimer(t.id, now)
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "core/agent.hpp"
#include "core/call.hpp"
#include "core/call_facts.hpp"
#include "core/device_facts.hpp"
#include "core/directory.hpp"
#include "core/extension_table.hpp"
#include "core/outputs.hpp"
#include "core/random_source.hpp"
#include "core/session_table.hpp"

namespace sb::core {

// Numbers for the metrics layer to read (core/ includes no prometheus header).
struct Counts {
  std::map<AgentStatus, size_t> agentsByStatus;          // every status present, 0 included
  std::map<SessionType, size_t> sessionsActiveByType;    // every type present, 0 included
  size_t registeredExtensions = 0;
  size_t extensions = 0;
  size_t agents = 0;
  size_t sessions = 0;  // live and ended still listed
};

// One skill group's queue, for the metrics layer.
struct QueueStat {
  size_t waiting = 0;          // customers not yet answered (ringing an agent included)
  Duration oldestWait{0};      // how long the longest-waiting one has waited
};

// The record's end state for a customer leg's final SIP answer (one table,
// gateway_outbound.cpp).
EndState endStateForSip(int code);

class Gateway {
 public:
  // `random` must outlive the Gateway.
  // `now` starts every agent's offline period, so status durations are true from the start.
  // `wallNowMs` (ms since the epoch at `now`) dates session records; see syncWallClock.
  Gateway(Directory directory, RandomSource& random, TimePoint now, int64_t wallNowMs = 0);

  // Re-anchors wall-clock dates to the monotonic clock (the daemon calls it
  // periodically, so a stepped system clock is followed within a second).
  void syncWallClock(int64_t wallNowMs, TimePoint now) { wallMinusMono_ = wallNowMs - now.ms; }

  // ---- registrar facts -------------------------------------------------------
  Outputs onFact(const ExtensionRegistered& fact, TimePoint now);
  Outputs onFact(const ExtensionUnregistered& fact, TimePoint now);
  Outputs onFact(const ExtensionReachability& fact, TimePoint now);
  Outputs onFact(const DeviceFact& fact, TimePoint now);  // any of the three

  // ---- configuration reload (SIGHUP) -------------------------------------------------
  // Takes a new directory, keeping the state of agents and lines that stay. New
  // agents start offline, new lines unregistered. A removed agent that was signed
  // in gets statusChanged {offline} (its wrap-up timer is cancelled); its live
  // sessions run on. Skill-group changes apply from the next wrap-up.
  Outputs reconfigure(Directory next, TimePoint now);

  // ---- timers ------------------------------------------------------------------
  // A timer started through Outputs fired. Stale or unknown ids are ignored.
  Outputs onTimer(TimerId id, TimePoint now);

  // ---- Agent.* -----------------------------------------------------------------
  // Success data for all four: the agent's status object (see agentStatusJson).
  Outcome agentOnline(const std::string& userId, TimePoint now);
  Outcome agentOffline(const std::string& userId, TimePoint now);
  // `status` as on the wire (free, rest, arrange, notReady, stopNotReady);
  // anything else is invalidStatus. restReason is kept only with rest.
  Outcome agentSetStatus(const std::string& userId, const std::string& status, const std::string& restReason,
                         TimePoint now);
  Outcome agentGetStatus(const std::string& userId, TimePoint now) const;

  // ---- Call.* available now -------------------------------------------------------
  // Call.deleteCall: sessionNotFound / sessionNotEnded, success data {sessionId}.
  Outcome callDeleteCall(const std::string& userId, const std::string& sessionId);
  // For the control layer's validation of any Call.* method: sessionNotFound when
  // the session does not exist (or, with a non-empty userId, is not that agent's).
  Result checkSession(const std::string& userId, const std::string& sessionId) const;

  // ---- Gateway.* queries ------------------------------------------------------
  // {"extensions": [...]}, {"agents": [...]}, {"sessions": [...]} (userId empty: all).
  // Extension rows carry no `contacts`: the registrar owns them, and the daemon
  // adds them from SipServer::extensionContacts.
  nlohmann::json listExtensions() const;
  nlohmann::json listAgents(TimePoint now) const;
  nlohmann::json listSessions(const std::string& userId = {}) const;
  Counts counts() const;
  // The two parts of counts() the metrics read after every batch of actions, cheaply.
  std::map<AgentStatus, size_t> agentsByStatus() const;        // every status present, 0 included
  std::map<SessionType, size_t> liveSessionsByType() const;    // every type present, 0 included

  // ---- call hooks (used by later issues' call handling; testable now) --------------
  // The agent is now in `sessionId`: busy. agentOffline when signed out,
  // agentNotFound when unknown.
  Outcome agentSeized(const std::string& userId, const std::string& sessionId, TimePoint now);
  // The agent's part in `sessionId` ended: wrap-up for the afterCallWork of
  // `skillGroupId` (empty or unknown: the agent's highest-priority group; none: 0),
  // then the pending status or free. sessionNotFound if the agent was not in it.
  Outcome agentReleased(const std::string& userId, const std::string& sessionId, const std::string& skillGroupId,
                        TimePoint now);

  // ---- calls (gateway_calls.cpp) --------------------------------------------------
  // A new INVITE from a trunk: queue it for its number's skill group (404 for a
  // number not configured), ring 180, offer it to the best eligible agent.
  // From a desk phone (call.extension set): the agent dials out
  // (gateway_outbound.cpp): the dial plan and limits decide, then the customer
  // is rung through a trunk.
  InboundDecision onInboundCall(const InboundCall& call, TimePoint now);
  // What the SIP layer saw on a leg. Facts about legs core no longer knows are
  // ignored (the SIP layer has already cleaned them up).
  Outputs onLegFact(const LegFact& fact, TimePoint now);
  // Call.hungUp: ends the agent's session (closeBy seat); a ringing offer is refused.
  Outcome callHungUp(const std::string& userId, const std::string& sessionId, TimePoint now);
  // Call.accept: answers the offer ringing this agent's desk phone by asking the
  // phone to (AnswerRemotely); confirms a mobile that answered and waits for
  // its key. `tabUuid` names the asking connection in userAccessed.
  Outcome callAccept(const std::string& userId, const std::string& sessionId, const std::string& tabUuid,
                     TimePoint now);
  // Call.end: refuses a ringing offer; the session goes to the next agent at once.
  Outcome callEnd(const std::string& userId, const std::string& sessionId, TimePoint now);
  // Call.sendDigits: DTMF into the customer's leg of the agent's answered
  // session (SendDigits); invalidParams unless 1..kMaxDigits of 0-9 * # A-D.
  static constexpr size_t kMaxDigits = 32;
  Outcome callSendDigits(const std::string& userId, const std::string& sessionId, const std::string& dtmfText);
  // Call.startOutboundCall (gateway_3pcc.cpp): rings the agent's device (desk
  // phone or mobile, by useMobileAccept) with an offerless INVITE, then, once
  // it answered, the customer through a trunk; the dial plan applies. Success
  // data {sessionId, calleeLocation, calleePhoneNumber, callerPhoneNumber,
  // serverType, remark}; a refusal answers the calloutRefused reason as its
  // errorCode (and emits the event).
  struct OutboundRequest {
    std::string phoneNumber, phoneDesc, uui, skillGroupId, callerPhoneNumber;
  };
  static constexpr size_t kMaxUui = 128;
  Outcome callStartOutboundCall(const std::string& userId, const OutboundRequest& r, TimePoint now);
  // Call.startInternalCall (gateway_3pcc.cpp): the caller's device first, then
  // the callee's desk phone (or mobile, useMobile) with callIn {type internal,
  // peerUserId}; both agents busy. Success data {sessionId}.
  Outcome callStartInternalCall(const std::string& userId, const std::string& calleeUserId, bool useMobile,
                                TimePoint now);
  // Call.transfer (gateway_transfer.cpp), blind: to a skill group's queue (the
  // agent released at once), or to one agent (rung while the first agent
  // stays on; bridged and released when they answer). `transfer` when done.
  Outcome callTransfer(const std::string& userId, const std::string& sessionId, const std::string& transferUserId,
                       const std::string& skillGroupId, TimePoint now);
  // Call.hold / Call.unHold (gateway_hold.cpp): both legs of the agent's
  // answered session re-INVITEd to hold or back; hold / unHold {by: seat}.
  Outcome callHold(const std::string& userId, const std::string& sessionId, bool hold, TimePoint now);
  // Call.muteMic / Call.unmuteMic / Call.isMicMuted (gateway_hold.cpp): the
  // agent's leg silenced towards the customer; needs anchored media.
  Outcome callMute(const std::string& userId, const std::string& sessionId, bool mute);
  // Call.startRecording / pauseRecording / resumeRecording / stopRecording
  // (gateway_recording.cpp): needs recording.mode always or onDemand.
  Outcome callRecording(const std::string& userId, const std::string& sessionId, RecordLeg::Op op);
  Outcome callIsMicMuted(const std::string& userId, const std::string& sessionId);
  // Call.monitor / Call.takeover (gateway_monitor.cpp): a supervisor of the
  // session's skill group (role: supervisor, supervises) rung and mixed into
  // an answered session: listening, whispering to the agent or barging in;
  // or put in the agent's place, the agent released. Needs anchored media.
  Outcome callMonitor(const std::string& userId, const std::string& sessionId, bool textOnly, const std::string& mode,
                      TimePoint now);
  Outcome callTakeover(const std::string& userId, const std::string& sessionId, TimePoint now);
  // Drain deadline: ends every live call (BYE both legs, closeBy admin).
  Outputs endAllCalls(const std::string& reason, TimePoint now);
  size_t liveCalls() const { return calls_.size(); }
  // A trunk answered its pings again (up) or stopped answering (down): the
  // gateway event trunkStateChanged {trunk, up}; a mobile is rung through the
  // first trunk not known to be down.
  Outputs onTrunkState(const std::string& trunk, bool up, TimePoint now);
  std::map<std::string, QueueStat> queueStats(TimePoint now) const;  // every skill group, empty ones included

  // ---- direct access for later issues and tests ------------------------------------
  const Directory& directory() const { return directory_; }
  const Agent* findAgent(const std::string& userId) const;
  SessionTable& sessions() { return sessions_; }
  const SessionTable& sessions() const { return sessions_; }
  ExtensionTable& extensions() { return extensions_; }
  const ExtensionTable& extensions() const { return extensions_; }

  // The status object used by Agent.getStatus and Gateway.listAgents:
  // {userId, name, extensionId, status, restReason?, pendingStatus?,
  //  pendingRestReason?, statusDurationMs, sessions[], wrapUpRemainingMs?}
  nlohmann::json agentStatusJson(const Agent& agent, TimePoint now) const;

 private:
  Agent* agent(const std::string& userId);
  Outcome finish(Agent& agent, const Agent::Effects& fx, TimePoint now);
  void applyTimers(Agent& agent, const Agent::Effects& fx, Outputs& out);
  Event statusEvent(const Agent& agent) const;
  Duration wrapUpFor(const std::string& userId, const std::string& skillGroupId) const;
  int64_t wallMs(TimePoint now) const { return now.ms + wallMinusMono_; }
  TimerId startTimer(TimePoint deadline, Outputs& out);
  TimerId startCallTimer(const std::string& sessionId, TimePoint deadline, Outputs& out);
  void armLifeTimer(Call& call, TimePoint now, Outputs& out);
  // How long an agent's device or a customer dialled by an agent may ring.
  Duration outboundRingBound() const { return std::chrono::seconds(std::max(1, directory_.outbound.ringTimeout)); }
  void cancelTimer(TimerId& id, Outputs& out);

  // Calls (gateway_calls.cpp).
  struct Pick {
    std::string userId;
    ServerType device = ServerType::staffExtensionSeat;
    LegTarget target;
  };
  // The agents who could take a call of `skillGroupId` now, best first.
  std::vector<Pick> candidates(const std::string& skillGroupId) const;
  std::optional<Pick> deviceFor(const config::Agent& cfg) const;
  bool anyAgentOnline(const std::string& skillGroupId) const;
  void indexAgents();
  // Where a new call of `group` queues: `group`, or where its full queue
  // overflows to; nullptr when every queue on the way is full.
  const config::SkillGroup* queueFor(const config::SkillGroup* group) const;
  void countMissed(const std::string& userId, const std::string& outcome, TimePoint now, Outputs& out);
  void dispatch(TimePoint now, Outputs& out);
  void offer(Call& call, const Pick& pick, TimePoint now, Outputs& out);
  void withdrawOffer(Call& call, const std::string& outcome, bool legGone, TimePoint now, Outputs& out,
                     std::optional<Event> announce = std::nullopt);
  void answered(Call& call, LegId leg, TimePoint now, Outputs& out);
  void endCall(Call& call, CloseBy closeBy, EndState endState, TimePoint now, Outputs& out,
               const std::string& mainReason = {});
  Call* callOfLeg(LegId leg);
  Call* agentsCall(const std::string& userId, const std::string& sessionId);
  Outputs onCallTimer(TimerId id, TimePoint now);
  void releaseInto(const std::string& userId, const std::string& sessionId, Duration wrapUp, TimePoint now,
                   Outputs& out);

  // Calls agents place (gateway_outbound.cpp).
  InboundDecision onDeskPhoneCall(const InboundCall& in, TimePoint now);
  Event refusedEvent(const std::string& extensionId, const config::Agent* agent, const std::string& dialled,
                     const std::string& reason) const;
  struct DialCheck {
    std::string number;                // cleaned
    bool emergency = false;
    bool internal = false;             // an extension's number: not checked further
    std::vector<std::string> trunks;   // the route, in order
    std::string reason;                // refused: calloutRefused's reason
    int code = 0;                      // ... and the SIP answer to a desk phone
    const char* phrase = "";
  };
  DialCheck checkDial(const std::string& limitKey, const config::Agent* agentCfg, const std::string& dialled,
                      TimePoint now);
  std::string callerNumberFor(const std::vector<const config::SkillGroup*>& groups, const std::string& trunk,
                              const std::string& extensionId, bool emergency) const;
  void dialCustomer(Call& call, const std::string& trunk, Outputs& out);
  InboundDecision internalCall(const InboundCall& in, const std::string& callee, const config::Agent* caller,
                               TimePoint now, InboundDecision d);
  Call& placeCall(const Session& s, LegId agentLeg, const std::string& limitKey, const std::string& extensionId,
                  ServerType device, TimePoint now, Outputs& out);
  void seizeForCall(const std::string& userId, Call& call, TimePoint now, Outputs& out);
  Event internalCallIn(const Call& call) const;
  Event dtmfEvent(const Call& call, char digit, bool fromCustomer) const;
  void setHeld(Call& call, bool held, const char* by, TimePoint now, Outputs& out);
  // Anchored media: hold music to the customer, if any, stops (a new agent answers).
  void stopMusic(const Call& call, Outputs& out) const;
  // Anchored media: `agentLeg`, whose phone's own holds the SIP layer answers
  // itself (BridgeLegs::ownHold) so that ours is the music the customer hears; else 0.
  // Not on a codec we cannot play music in: then the phone's hold is relayed.
  LegId ownHold(const Call& call, LegId agentLeg) const {
    return directory_.mediaAnchored && !call.undecodable ? agentLeg : 0;
  }
  // Anchored media and a codec the engine decodes (docs/CORE.md, "Codecs").
  bool decodes(const Call& call) const { return directory_.mediaAnchored && !call.undecodable; }
  // The agent's phone held or resumed the call itself (LegHeld on its leg).
  void phoneHeld(Call& call, bool held, TimePoint now, Outputs& out);
  // gateway_recording.cpp: a change of the call's recording, its action and events.
  void setRecording(Call& call, RecordLeg::Op op, Outputs& out);
  void recordOnAnswer(Call& call, Outputs& out);  // recording.mode always
  void recordingFailed(Call& call, const std::string& reason, Outputs& out);
  // gateway_monitor.cpp: a supervisor on the call.
  Outcome supervisedCall(const std::string& userId, const std::string& sessionId, Call*& call);
  Outcome startMonitor(Call& call, const config::Agent& supervisor, Call::MonitorMode mode, bool takeover,
                       TimePoint now);
  void onMonitorFact(Call& call, const LegFact& fact, TimePoint now, Outputs& out);
  void mixFor(const Call& call, Outputs& out) const;
  void takeOver(Call& call, TimePoint now, Outputs& out);
  void endMonitor(Call& call, const std::string& reason, bool legGone, TimePoint now, Outputs& out);
  void monitorEvent(const Call& call, std::string_view name, nlohmann::json data, Outputs& out) const;
  bool onTransferFact(Call& call, const LegFact& fact, TimePoint now, Outputs& out);
  void onRefer(Call& call, const LegRefer& refer, TimePoint now, Outputs& out);
  void attendedTransfer(Call& referred, const LegRefer& refer, TimePoint now, Outputs& out);
  void abandonTransfer(Call& call, const std::string& outcome, bool legGone, TimePoint now, Outputs& out);
  void requeue(Call& call, const config::SkillGroup& group, TimePoint now, Outputs& out);
  void turnAway(Call& call, int code, const char* phrase, Outputs& out);
  void agentLine(const std::string& userId, ServerType device, bool started);
  void ringAgentFirst(Call& call, const LegTarget& target, const std::string& shown, TimePoint now, Outputs& out);
  Event phoneCallIn(const Call& call, const Session& s, const std::string& userId, int ringSeconds,
                    ServerType device) const;
  Event transferEvent(const Call& call, const std::string& to, const std::string& group) const;
  void onOutboundFact(Call& call, const LegFact& fact, TimePoint now, Outputs& out);
  void outboundRingTimeout(Call& call, TimePoint now, Outputs& out);
  void releaseAgentLeg(Call& call, int code, Outputs& out, const char* phrase = nullptr);
  void agentAnswered(Call& call, TimePoint now, Outputs& out);
  bool awaitMobileKey(Call& call, TimePoint now, Outputs& out);
  void mobileKeyed(Call& call, Outputs& out);
  void abandonDialling(Call& call, int code, CloseBy closeBy, EndState state, TimePoint now, Outputs& out,
                       const std::string& reason = {});

  Directory directory_;
  std::map<std::string, Agent> agents_;
  SessionTable sessions_;
  ExtensionTable extensions_;
  TimerId nextTimerId_ = 1;
  std::map<std::string, TimerId> wrapUpTimerOf_;   // userId -> running wrap-up timer
  std::map<TimerId, std::string> wrapUpTimers_;    // timer -> userId
  int64_t wallMinusMono_ = 0;
  LegId nextLegId_ = 1;
  std::map<std::string, Call> calls_;                 // live calls by sessionId
  std::map<LegId, std::string> legCalls_;             // every live leg -> its call
  std::map<TimerId, std::string> callTimers_;         // ring and queue timers -> call
  std::map<std::string, std::vector<std::string>> waiting_;  // skill group -> sessionIds in arrival order
  std::map<std::string, bool> trunkUp_;                      // trunks whose state is known
  // skill group -> (agent, priority) of the agents holding it, in configuration
  // order (rebuilt with the directory), so routing never scans every agent.
  std::map<std::string, std::vector<std::pair<const config::Agent*, int>>> groupAgents_;
  std::map<std::string, size_t> outboundLive_;                 // extension -> live calls it placed
  std::map<std::string, std::deque<TimePoint>> outboundRecent_;  // extension -> its calls of the last minute
  std::map<std::string, int> missedInARow_;  // userId -> offers missed since the last answer or status request

  // gateway_quality.cpp: the legs' call quality (LegQuality) onto their
  // sessions; an ended call's two legs are kept a while, as their final
  // figures come once their endpoints close, after the end.
  Outputs onQuality(const LegQuality& q);
  void keepForQuality(const Call& call);
  struct QualityLeg {
    std::string sessionId;
    bool customer = true;
  };
  std::map<LegId, QualityLeg> endedLegs_;
  std::deque<LegId> endedLegOrder_;  // oldest first, bounded
};

}  // namespace sb::core
