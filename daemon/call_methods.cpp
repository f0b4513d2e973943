// Call.* of the SDK and seatbridge's own methods on a call (recording,
// supervisors), each declared with its parameters so that clients get precise
// errors, and served by core/.
#include "control/control_server.hpp"
#include "control/errors.hpp"
#include "host/core_host.hpp"
#include "daemon/gateway_methods.hpp"

namespace sb::daemon {

using control::MethodSpec;
using control::Param;
using control::ParamType;
using control::Request;
using nlohmann::json;

namespace {

const Param kSessionId{"sessionId", ParamType::String, true,
                       "The session, as in callIn or the method that started it."};

// A method on one of the agent's sessions that core serves.
using SessionStep = core::Outcome (*)(core::Gateway&, const std::string& userId, const std::string& sessionId,
                                      core::TimePoint now);
MethodSpec served(host::CoreHost* b, std::string name, std::string help, std::string answer, SessionStep step) {
  MethodSpec m{.name = std::move(name),
               .help = std::move(help),
               .params = {kSessionId},
               .actsForAgent = true,
               .answer = std::move(answer)};
  m.handler = [b, step](const Request& r) {
    const std::string userId = r.params["userId"];
    const std::string sessionId = r.params["sessionId"];
    b->run(r.reply, [=](core::Gateway& g, core::TimePoint now) {
      if (!g.findAgent(userId)) return core::Outcome::failure(control::errc::agentNotFound, "no agent " + userId);
      return step(g, userId, sessionId, now);
    });
  };
  return m;
}

}  // namespace

void addCallMethods(control::MethodTable& table, host::CoreHost* b) {
  table.add(
      {.name = "Call.startOutboundCall",
       .help = "Dials a customer for the agent by third-party call control (RFC 3725): the agent's device rings "
               "first (the desk phone, or the mobile through a trunk as useMobileAccept says: the dual call); once "
               "the agent answers, the customer is dialled through a trunk (callOuted) and, on their answer, the "
               "two are bridged (calloutAccepted). The dial plan and the outbound limits apply as to a number "
               "dialled on the desk phone; outbound.ringTimeout bounds each ringing. uui reaches the customer's "
               "side in a User-to-User header (hex, RFC 7433) and the session record.",
       .params = {{"phoneNumber", ParamType::String, true, "The customer's number."},
                  {"phoneDesc", ParamType::String, false, "A note kept as the session's remark."},
                  {"uui", ParamType::String, false, "Up to 128 characters of user data for the far end and the record."},
                  {"skillGroupId", ParamType::String, false,
                   "One of the agent's skill groups: the session counts for it and presents its callerNumbers first."},
                  {"callerPhoneNumber", ParamType::String, false,
                   "The number to present: one of the agent's skill groups' or the route's trunks' callerNumbers."},
                  {"servingNumberGroupIds", ParamType::StringArray, false,
                   "Accepted for the SDK's sake; seatbridge presents numbers by callerPhoneNumber and skill group."},
                  {"phoneEncodeType", ParamType::String, false, "How phoneNumber is given.", {"number"}}},
       .actsForAgent = true,
       .answer = "`{sessionId, calleeLocation (\"\"), calleePhoneNumber, callerPhoneNumber, serverType, remark}` "
                 "once the agent's device is being rung; `agentOffline`, `invalidTransition` (the agent is in a "
                 "call), `deviceUnavailable`, `invalidParams`, or a calloutRefused reason as the errorCode.",
       .handler = [b](const Request& r) {
         const std::string userId = r.params["userId"];
         core::Gateway::OutboundRequest o;
         o.phoneNumber = r.params["phoneNumber"];
         o.phoneDesc = r.params.value("phoneDesc", "");
         o.uui = r.params.value("uui", "");
         o.skillGroupId = r.params.value("skillGroupId", "");
         o.callerPhoneNumber = r.params.value("callerPhoneNumber", "");
         b->run(r.reply, [=](core::Gateway& g, core::TimePoint now) { return g.callStartOutboundCall(userId, o, now); });
       }});
  table.add({.name = "Call.accept",
             .help = "Answers a session offered by callIn without lifting the handset: the ringing desk phone is "
                     "told to answer (NOTIFY Event: talk, for phones whose ringing response lists `talk` in "
                     "Allow-Events), and userAccessed follows with this connection's tabUUID once it has. On a "
                     "mobile that answered and waits for the agent's key (calls.mobileConfirmSeconds) it is the "
                     "confirmation.",
             .params = {kSessionId},
             .actsForAgent = true,
             .answer = "`{sessionId}` once the phone has been asked; `remoteAnswerUnsupported` when the offer rings "
                       "a mobile, or a desk phone that does not offer remote answer (lift the handset); "
                       "`invalidTransition` when the session is already answered.",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"], sessionId = r.params["sessionId"];
               const std::string tab = r.tabUuid;
               b->run(r.reply, [=](core::Gateway& g, core::TimePoint now) {
                 if (!g.findAgent(userId))
                   return core::Outcome::failure(control::errc::agentNotFound, "no agent " + userId);
                 return g.callAccept(userId, sessionId, tab, now);
               });
             }});
  table.add(served(b, "Call.end", "Rejects a ringing offer: the session is offered to the next agent at once.",
                   "`{sessionId}`; `invalidTransition` when the session is not ringing this agent.",
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint now) {
                     return g.callEnd(userId, sessionId, now);
                   }));
  table.add(served(b, "Call.hungUp",
                   "Hangs up the agent's session: BYE to both legs, sessionEnded with closeBy `seat`. On a "
                   "ringing offer it acts as Call.end.",
                   "`{sessionId}`.",
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint now) {
                     return g.callHungUp(userId, sessionId, now);
                   }));
  table.add({.name = "Call.deleteCall",
             .help = "Removes an ended session from the agent's list (and from Gateway.listSessions).",
             .params = {kSessionId},
             .actsForAgent = true,
             .answer = "`{sessionId}`; `sessionNotEnded` while the session is live.",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"], sessionId = r.params["sessionId"];
               b->run(r.reply, [=](core::Gateway& g, core::TimePoint) {
                 if (!g.findAgent(userId))
                   return core::Outcome::failure(control::errc::agentNotFound, "no agent " + userId);
                 return g.callDeleteCall(userId, sessionId);
               });
             }});
  table.add(served(b, "Call.muteMic",
                   "Mutes the agent towards the customer: the customer hears silence instead of the agent (the "
                   "agent's packets go on, their G.711 payload silenced, so the stream's timing is kept; "
                   "telephone-events still pass). The agent still hears the customer. Needs media.mode anchored.",
                   "`{sessionId, muted: true}`; `mediaNotAnchored` with media.mode bypass (the audio does not go "
                   "through seatbridge); `invalidTransition` before the agent answered.",
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint) {
                     return g.callMute(userId, sessionId, true);
                   }));
  table.add(served(b, "Call.unmuteMic", "Unmutes the agent: the customer hears them again.",
                   "`{sessionId, muted: false}`; errors as Call.muteMic.",
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint) {
                     return g.callMute(userId, sessionId, false);
                   }));
  table.add(served(b, "Call.isMicMuted", "Whether the agent is muted.",
                   "`{sessionId, muted}`; `mediaNotAnchored` with media.mode bypass.",
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint) {
                     return g.callIsMicMuted(userId, sessionId);
                   }));
  table.add({.name = "Call.startInternalCall",
             .help = "Calls another agent by third-party call control: the caller's own device rings first (as "
                     "Call.startOutboundCall rings it), then, once the caller answers, the callee's desk phone "
                     "(or mobile, useMobile) with callIn of type `internal` on their side; both agents are busy "
                     "while it lasts and both get sessionEnded. outbound.ringTimeout bounds each ringing.",
             .params = {{"calleeUserId", ParamType::String, true, "The agent to call."},
                        {"useMobile", ParamType::Boolean, false, "Ring the callee's mobile instead of their device."}},
             .actsForAgent = true,
             .answer = "`{sessionId}` once the caller's device is being rung; `agentNotFound`, `agentOffline` or "
                       "`invalidTransition` (in a call) for either agent, `deviceUnavailable`.",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"], callee = r.params["calleeUserId"];
               const bool useMobile = r.params.value("useMobile", false);
               b->run(r.reply, [=](core::Gateway& g, core::TimePoint now) {
                 return g.callStartInternalCall(userId, callee, useMobile, now);
               });
             }});
  table.add({.name = "Call.transfer",
             .help = "Blind transfer of the agent's answered customer call. To a skill group: the agent's leg is "
                     "hung up at once (after-call work follows), the customer waits in that group's queue and is "
                     "offered as any waiting call; `transfer {sessionId, skillGroupId}` at once. To an agent: their "
                     "device rings (callIn) while this agent stays on the line; their answer is bridged to the "
                     "customer, this agent's leg hung up and `transfer {sessionId, userId}` sent. If they do not "
                     "answer within the skill group's ringTimeout, the call stays with this agent, or, if this "
                     "agent hung up meanwhile, goes to the session's skill group's queue.",
             .params = {kSessionId,
                        {"skillGroupId", ParamType::String, false, "Transfer to this skill group's queue."},
                        {"transferUserId", ParamType::String, false,
                         "Transfer to this agent (the SDK's `userId`, renamed here because `userId` names the acting "
                         "agent)."}},
             .actsForAgent = true,
             .answer = "`{sessionId}` once the transfer is under way; `invalidParams` unless exactly one target is "
                       "given; `invalidTransition` for a session that is not this agent's answered customer call, or "
                       "a target agent who is not free; `deviceUnavailable` for one with no device to ring.",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"], sessionId = r.params["sessionId"];
               const std::string to = r.params.value("transferUserId", ""), group = r.params.value("skillGroupId", "");
               b->run(r.reply, [=](core::Gateway& g, core::TimePoint now) {
                 if (!g.findAgent(userId))
                   return core::Outcome::failure(control::errc::agentNotFound, "no agent " + userId);
                 return g.callTransfer(userId, sessionId, to, group, now);
               });
             }});
  table.add(served(b, "Call.hold",
                   "Puts the agent's answered session on hold; `hold {sessionId, by: seat}` follows. The agent's "
                   "phone is re-INVITEd with its streams sendonly (RFC 3264 section 8.4): the agent is muted. "
                   "With media.mode anchored the customer's leg stays as it is and hears the skill group's "
                   "holdMusic (or the built-in chime) from seatbridge; in bypass it is re-INVITEd sendonly too, "
                   "and a PBX there plays its own hold music.",
                   "`{sessionId}`; `invalidTransition` when the session is not answered or already held.",
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint now) {
                     return g.callHold(userId, sessionId, true, now);
                   }));
  table.add(served(b, "Call.unHold",
                   "Resumes a held session: both legs re-INVITEd with their streams sendrecv again; "
                   "`unHold {sessionId, by: seat}` follows.",
                   "`{sessionId}`; `invalidTransition` when the session is not on hold.",
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint now) {
                     return g.callHold(userId, sessionId, false, now);
                   }));
  table.add({.name = "Call.sendDigits",
             .help = "Sends DTMF digits to the customer's side of the agent's answered session (an IVR or a PBX "
                     "menu beyond the trunk). With media.mode anchored and a customer's side whose SDP negotiated "
                     "telephone-event, they go in the RTP seatbridge sends it (RFC 4733, with that payload type): "
                     "each digit one event of 160 ms, updates every 50 ms, its end sent three times, 100 ms "
                     "between digits, the agent's audio to the customer paused meanwhile. Otherwise each digit "
                     "goes as one SIP INFO in the customer's dialog, `Content-Type: application/dtmf-relay` with "
                     "the body `Signal=<digit>` and `Duration=160` (ms) on two lines, the next digit once the "
                     "INFO before it is answered; a far end that refuses one (415, 501) gets no more.",
             .params = {kSessionId, {"dtmfText", ParamType::String, true, "1 to 32 digits: 0-9, *, #, A-D (a-d taken "
                                                                          "as A-D)."}},
             .actsForAgent = true,
             .answer = "`{sessionId, dtmfText}` (the digits as sent) once they are queued on the leg; "
                       "`invalidParams` for anything else in dtmfText; `invalidTransition` before the session is "
                       "answered.",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"], sessionId = r.params["sessionId"];
               const std::string digits = r.params["dtmfText"];
               b->run(r.reply, [=](core::Gateway& g, core::TimePoint) {
                 if (!g.findAgent(userId))
                   return core::Outcome::failure(control::errc::agentNotFound, "no agent " + userId);
                 return g.callSendDigits(userId, sessionId, digits);
               });
             }});
  // Recording (spec/interface.md, "Calls and media"; docs/CORE.md, "Recording").
  const std::string recordingErrors =
      "`recordingDisabled` with recording.mode never; `invalidTransition` before the answer, or when the "
      "recording is not in the state the method changes (start while recording, resume when not paused; stop "
      "with recording.mode always, which records every call whole: pause instead).";
  table.add(served(b, "Call.startRecording",
                   "Records the agent's answered session into recording.path/<sessionId>.wav (16-bit PCM, 8 kHz; "
                   "recording.format stereo: the customer left, the agent right; mono: both mixed). Started "
                   "again after Call.stopRecording it goes on in the same file. With recording.mode always every "
                   "call is recorded from its answer without asking. `recordingStarted {sessionId, recording}` "
                   "follows, and the session's record carries `recording` (the file's path).",
                   "`{sessionId, recording}`; " + recordingErrors,
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint) {
                     return g.callRecording(userId, sessionId, core::RecordLeg::Op::start);
                   }));
  table.add(served(b, "Call.pauseRecording",
                   "Leaves a passage out of the recording (a payment card number read out or keyed in): nothing "
                   "is written until Call.resumeRecording, and the keys pressed meanwhile are neither reported "
                   "as dtmf events nor logged nor kept. `recordingPaused` follows.",
                   "`{sessionId, recording}`; " + recordingErrors,
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint) {
                     return g.callRecording(userId, sessionId, core::RecordLeg::Op::pause);
                   }));
  table.add(served(b, "Call.resumeRecording", "Goes on recording after Call.pauseRecording; `recordingResumed` follows.",
                   "`{sessionId, recording}`; " + recordingErrors,
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint) {
                     return g.callRecording(userId, sessionId, core::RecordLeg::Op::resume);
                   }));
  table.add(served(b, "Call.stopRecording",
                   "Stops recording the session (recording.mode onDemand); the file is complete once "
                   "`recordingStopped` arrives, or when the session ends.",
                   "`{sessionId, recording}`; " + recordingErrors,
                   [](core::Gateway& g, const std::string& userId, const std::string& sessionId, core::TimePoint) {
                     return g.callRecording(userId, sessionId, core::RecordLeg::Op::stop);
                   }));
  // Supervisors (docs/CORE.md, "Supervisor").
  const std::string supervisorErrors =
      "`notSupervisor` unless the caller is a supervisor (role: supervisor) of the session's skill group; "
      "`mediaNotAnchored` with media.mode bypass; `sessionNotFound`; `invalidTransition` unless the session is a "
      "customer's answered call of another agent, or when another supervisor is on it; `agentOffline`, "
      "`deviceUnavailable` when the supervisor's device cannot be rung.";
  table.add({.name = "Call.monitor",
             .help = "A supervisor joins another agent's answered session of a skill group they supervise: their "
                     "device (desk phone, or mobile as for offers) is rung and, once answered, hears the customer and "
                     "the agent mixed. `mode` says who hears the supervisor: nobody (listen), the agent only "
                     "(whisper: coaching the customer does not hear) or both (barge: three-way). Calling it again "
                     "on the same session changes the mode. The supervisor hanging up ends the monitoring only, "
                     "never the call. `monitorStarted`, `monitorChanged` and `monitorEnded` go to the supervisor "
                     "and to the agent. While monitoring, the supervisor is busy (offered no call).",
             .params = {kSessionId,
                        {"textOnly", ParamType::Boolean, false,
                         "A live transcript instead of audio: `transcriptUnavailable` until speech recognition is "
                         "built."},
                        {"mode", ParamType::String, false, "listen (default), whisper or barge.",
                         {"listen", "whisper", "barge"}}},
             .actsForAgent = true,
             .answer = "`{sessionId, mode}` once the supervisor's device is being rung (or the mode changed); " +
                       supervisorErrors + " `transcriptUnavailable` with textOnly.",
             .sdkName = "unnamed in the SDK (table 15, \"monitor (?)\"): seatbridge's name",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"], sessionId = r.params["sessionId"];
               const bool textOnly = r.params.value("textOnly", false);
               const std::string mode = r.params.value("mode", "listen");
               b->run(r.reply, [=](core::Gateway& g, core::TimePoint now) {
                 return g.callMonitor(userId, sessionId, textOnly, mode, now);
               });
             }});
  table.add({.name = "Call.takeover",
             .help = "A supervisor takes another agent's answered session over: the customer is bridged to the "
                     "supervisor's device (the one monitoring, or rung now and bridged on its answer) and the agent's "
                     "leg is hung up, the agent going into after-call work as after a transfer. The session is the "
                     "supervisor's from then on. `takenOver {sessionId, userId, previousUserId}` goes to both.",
             .params = {kSessionId},
             .actsForAgent = true,
             .answer = "`{sessionId}` once done, or once the supervisor's device is being rung; " + supervisorErrors,
             .sdkName = "unnamed in the SDK (table 16, \"takeover (?)\"): seatbridge's name",
             .handler = [b](const Request& r) {
               const std::string userId = r.params["userId"], sessionId = r.params["sessionId"];
               b->run(r.reply, [=](core::Gateway& g, core::TimePoint now) { return g.callTakeover(userId, sessionId, now); });
             }});
}

}  // namespace sb::daemon
