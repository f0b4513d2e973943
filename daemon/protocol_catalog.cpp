// The events the control socket emits and the errors the domain answers, as data
// for docs/PROTOCOL.md. Event names come from core/vocabulary.hpp, and those the
// SIP layer emits itself from sip/ (trunk_registration.hpp).
#include "core/errors.hpp"
#include "core/vocabulary.hpp"
#include "daemon/gateway_methods.hpp"
#include "host/host_events.hpp"
#include "sip/trunk_registration.hpp"

namespace sb::daemon {

namespace {

std::string n(std::string_view name) { return std::string(name); }

// No contacts: every event is kept for Client.resume, so they stay small;
// Gateway.listExtensions has the contacts.
const std::string kExtensionFields =
    "`extensionId`, `userId` (the bound agent), `registered`, `reachable`, `deviceState` "
    "(offline, idle, busy), `contactCount` (the line's bindings; Gateway.listExtensions lists them)";

std::vector<control::EventDoc> events() {
  namespace ev = core::event;
  return {
      {"ready", "no", "`tabUUID`", "First line on every connection; takes no seq (its `seq` is the last emitted)."},
      {"eventsDropped", "no", "`fromSeq`, `toSeq`, `count`",
       "This connection's queue overflowed and it missed events; sent once it drains, before newer events. Its "
       "`seq` is `toSeq`. Per connection."},
      {n(ev::statusChanged), "yes", "`status` (offline, free, busy, arrange, notReady, rest), `restReason` with rest",
       "The agent's status changed (Agent.*, a call starting or ending, wrap-up ending)."},
      {n(ev::extensionRegistered), "when the line is bound", kExtensionFields,
       "A desk phone registered, or its bindings changed: a binding more or fewer, or another contact URI, NAT "
       "source or User-Agent (a refresh that only extends expiry is silent)."},
      {n(ev::extensionUnregistered), "when the line is bound", kExtensionFields + ", `reason` (unregistered, expired)",
       "The extension's last binding went away."},
      {n(ev::extensionUnreachable), "when the line is bound", kExtensionFields,
       "No binding of the extension answers keepalive OPTIONS any more."},
      {n(ev::extensionReachable), "when the line is bound", kExtensionFields, "A binding answers keepalives again."},
      {n(ev::callIn), "yes",
       "`sessionId`, `type` (phone), `timeout` (the ring timeout, s), `calleePhoneNumber`, `callerPhoneNumber`, "
       "`callerLocation`, `remark`, `ivrPath` ([{key, label}] from the PBX's X-IVR-Path), `protectedCallee`, "
       "`protectedCaller`, `serverType` (staffExtensionSeat, staffPhoneSeat)",
       "A session is offered to the agent: their desk phone (or mobile) rings; the agent is busy from now."},
      {n(ev::userAccessed), "yes", "`sessionId`, `tabUUID` (empty when the phone itself answered)",
       "The agent answered; the customer's call is bridged to them."},
      {n(ev::autoTransfer), "yes", "`sessionId`",
       "The offer rang for the skill group's ringTimeout unanswered (or a mobile answered but no key came within "
       "calls.mobileConfirmSeconds); it was withdrawn (CANCEL, or BYE) and goes to the next agent; this agent is "
       "free again."},
      {n(ev::dtmf), "yes", "`sessionId`, `digit` (0-9, *, #, A-D), `flow` (IN: the customer's side, OUT: the agent's)",
       "A key was pressed on a bridged call, as the leg sent it: in an INFO (application/dtmf-relay or "
       "application/dtmf), or, with media.mode anchored, as an RFC 4733 telephone-event in its RTP (one event "
       "per key, however many packets carry it; the packets are relayed to the other leg as they are) or, from "
       "a leg whose session negotiated no telephone-event, as the key's tone pair in its audio (found by seatbridge's "
       "in-band DTMF receiver; the tones are relayed as audio)."},
      {n(ev::sessionEnded), "the agent who had it; none when no agent was offered it",
       "`sessionId`, `closeBy` (client, seat, admin, timer), `mainReason`, `subReason`",
       "The session is over (Gateway.listSessions and Gateway.listRecords give its endState)."},
      {n(host::event::queueChanged), "no; only with `queues` (Client.subscribe)",
       "`skillGroup`, `waiting` (customers not yet answered, those ringing an agent included), `oldestWaitMs` "
       "(how long the longest-waiting one has waited; 0 when none)",
       "seatbridge's own, for wallboards and `seatbridgectl top`: a skill group's queue changed, that is a "
       "customer joined or left it, or the longest-waiting one did. The wait growing is no change: add the time "
       "since the event. Sent only to connections that subscribed with `queues: true` (an `all` subscriber "
       "without it sees a gap in the seqs there, as for other agents' events), so clients written for the "
       "SDK's events never get it. Gateway.listQueues gives the figures to start from."},
      {n(ev::trunkStateChanged), "no", "`trunk`, `up`",
       "A trunk answered its OPTIONS pings again, or missed two in a row."},
      {n(sip::event::trunkRegistrationChanged), "no", "`trunk`, `registered`, `code`",
       "seatbridge's REGISTER binding at a trunk with `register` was accepted (`registered` true, `code` 200), "
       "refused (false, the trunk's status), went unanswered or lapsed unrefreshed (false, 408), or was given up "
       "by a reload or a stop (false, 0)."},
      {n(ev::callOuted), "yes", "`sessionId`, `callerPhoneNumber`, `calleePhoneNumber`, `serverType`, `tabUUID`",
       "An agent's call to a customer was launched: the INVITE is on its way through a trunk "
       "(callerPhoneNumber is the number presented to the customer; tabUUID is empty for a call dialled on the "
       "desk phone)."},
      {n(ev::calloutAccepted), "yes", "`sessionId`", "The customer answered an outbound call; the legs are bridged."},
      {n(ev::recordingStarted), "yes", "`sessionId`, `recording` (the WAV's path)",
       "The session is being recorded: Call.startRecording, or its answer with recording.mode always. To the "
       "agent (both agents of an internal call)."},
      {n(ev::recordingPaused), "yes", "`sessionId`, `recording`",
       "Call.pauseRecording: nothing is written, and no dtmf event is sent, until recordingResumed."},
      {n(ev::recordingResumed), "yes", "`sessionId`, `recording`", "Call.resumeRecording: recording again."},
      {n(ev::recordingStopped), "yes", "`sessionId`, `recording`",
       "Call.stopRecording. (A session that ends stops its recording with no event: sessionEnded says it.)"},
      {n(ev::recordingFailed), "yes", "`sessionId`, `recording`, `reason`",
       "The recording could not go on; the call goes on unrecorded. `reason` names the cause: the file could not "
       "be opened or written (`cannot open ...`, `writing failed: No space left on device`), or "
       "`codecNotDecodable` (a side's codec is not G.711, which seatbridge decodes; that side is silence). Counted "
       "in seatbridge_recording_failures_total and logged. With recording.mode always, a call answered in a codec "
       "other than PCMU or PCMA gets it at the answer, with reason `codecNotDecodable` and no `recording`: it is "
       "never recorded."},
      {n(ev::monitorStarted), "yes", "`sessionId`, `supervisorUserId`, `userId` (the agent), `mode`",
       "The supervisor's device answered Call.monitor: they hear the customer and the agent; `mode` says who hears "
       "them (listen: nobody; whisper: the agent; barge: both). Sent to the supervisor and to the agent."},
      {n(ev::monitorChanged), "yes", "`sessionId`, `supervisorUserId`, `userId`, `mode`",
       "Call.monitor again on the same session changed the mode. To both."},
      {n(ev::monitorEnded), "yes", "`sessionId`, `supervisorUserId`, `userId`, `reason`",
       "The supervisor is off the session; the call goes on. `reason`: `supervisorHungUp`, `missed` (their device "
       "did not answer within the skill group's ringTimeout), `rejected`, `failed`, `transferred` (the customer "
       "went to a queue) or `sessionEnded`. To both."},
      {n(ev::takenOver), "yes", "`sessionId`, `userId` (the supervisor, the session's agent now), `previousUserId`",
       "Call.takeover: the customer talks to the supervisor; the previous agent's leg is hung up and they go into "
       "after-call work. To both."},
      {n(ev::hold), "yes", "`sessionId`, `by` (seat: Call.hold or the agent's phone; client: the far end)",
       "The session went on hold: by Call.hold, or by a re-INVITE (or UPDATE) from a leg whose SDP asks to "
       "receive nothing (sendonly, inactive, or c=0.0.0.0): the desk phone's hold key, or the customer's side. "
       "An internal call's two agents both get it."},
      {n(ev::unHold), "yes", "`sessionId`, `by`", "The session is off hold again (Call.unHold, or the side that held "
       "it asks to receive again)."},
      {n(ev::calloutRefused), "when the line is bound",
       "`extensionId`, `calleePhoneNumber` (as dialled), `reason`",
       "A call an agent placed was refused before anything went out. `reason`: `numberNotAllowed` (403, the dial "
       "plan of the agent or skill group), `noRoute` (403, no trunk's dialPatterns carry it), `trunksDown` (503), "
       "`concurrentLimit` / `rateLimit` (403, outbound.maxConcurrentPerExtension / maxPerMinutePerExtension), "
       "`invalidNumber` (484). Sent to the "
       "agent of the extension, or to every subscriber for a phone bound to no agent; counted in "
       "seatbridge_outbound_refused_total{reason}."},
      {n(ev::transfer), "yes", "`sessionId`, `skillGroupId` (a transfer to a queue; else \"\"), `userId` (to an "
       "agent; else \"\")",
       "A transfer completed: the customer is queued in the skill group, or the agent transferred to answered. "
       "Sent to the agent who transferred, by Call.transfer or the desk phone's transfer key: a blind REFER, or an "
       "attended one (REFER with Replaces, after a consultation call to a colleague's extension), where the "
       "colleague, already talking, then gets `callIn` for the customer's session with timeout 0 and "
       "`userAccessed`, and the consultation's `sessionEnded` goes to both agents."},
  };
}

std::vector<control::errc::ErrorDoc> domainErrors() {
  namespace e = core::errc;
  return {
      {e::agentOffline, "The agent is signed out: Agent.online first."},
      {e::invalidStatus, "Not a status Agent.setStatus accepts."},
      {e::invalidTransition, "The status change is not possible from the current status (e.g. stopNotReady when "
                             "not notReady)."},
      {e::sessionNotEnded, "Call.deleteCall on a session that is still live."},
      {e::extensionNotFound, "No configured extension has that id."},
      {e::remoteAnswerUnsupported, "Call.accept cannot answer this device: a mobile rung through a trunk, or a "
                                   "desk phone whose ringing response does not offer the `talk` event (lift the "
                                   "handset, or enable remote answer on the phone)."},
      {e::deviceUnavailable, "Call.startOutboundCall has no device to ring for the agent: the desk phone is not "
                             "registered (or not answering keepalives) and useMobileAccept allows no mobile."},
      {"numberNotAllowed", "Call.startOutboundCall: the dial plan of the agent or their skill groups does not allow "
                           "the number (docs/CONFIG.md, \"Dial plan\"); with a calloutRefused event. So do "
                           "`noRoute` (no trunk carries it), `trunksDown`, `concurrentLimit`, `rateLimit` and "
                           "`invalidNumber`, as that event names them."},
      {e::recordingDisabled, "A Call.*Recording method with recording.mode never (docs/CONFIG.md, \"Recording\")."},
      {e::mediaNotAnchored, "The method works on the call's audio (Call.muteMic, Call.unmuteMic, Call.isMicMuted, "
                            "Call.monitor, Call.takeover, the Call.*Recording methods), and this seatbridge passes the "
                            "audio through between the phone and the trunk without relaying it (media.mode bypass), "
                            "so it cannot."},
      {e::codecNotDecodable, "Call.monitor, Call.takeover or Call.startRecording on a call whose codec seatbridge "
                             "relays but does not decode (anything but PCMU and PCMA: G.722, Opus...): mixing and "
                             "recording need the audio decoded. With recording.mode always such a call gets a "
                             "recordingFailed event with reason codecNotDecodable; Call.hold and a desk phone's own "
                             "hold fall back to a sendonly hold of the customer's leg (its PBX's music)."},
      {e::notSupervisor, "Call.monitor or Call.takeover by an agent who is not a supervisor (role: supervisor) of "
                         "the session's skill group (supervises)."},
      {e::transcriptUnavailable, "Call.monitor with textOnly: a live transcript needs speech recognition, which "
                                 "this seatbridge does not have yet."},
  };
}

}  // namespace

control::ProtocolDoc protocolDoc(const control::MethodTable& table) {
  control::ProtocolDoc doc;
  doc.methods = &table;
  doc.events = events();
  doc.domainErrors = domainErrors();
  return doc;
}

}  // namespace sb::daemon
