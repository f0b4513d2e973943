#pragma once
// The contact-centre SDK's vocabulary as core/ speaks it: agent statuses, session
// attributes, end states, and the event names core/ emits. Names on the wire are
// exactly the SDK's (spec/contact-centre-sdk.md); enums exist so the state machines
// cannot be handed a misspelt status.
#include <optional>
#include <string_view>

namespace sb::core {

// AgentStatus of the SDK. `offline` is signed out (Agent.offline).
enum class AgentStatus { offline, free, busy, arrange, notReady, rest };

// What Agent.setStatus accepts: `busy` and `offline` are not settable (busy comes
// from calls, offline from Agent.offline); stopNotReady is a pseudo-status.
enum class RequestedStatus { free, rest, arrange, notReady, stopNotReady };

enum class SessionType { phone, internal };
// The agent's device in a session; seatbridge serves these two of the SDK's four.
enum class ServerType { staffExtensionSeat, staffPhoneSeat };
enum class Direction { inbound, outbound };
// Who ended a session: client = the customer, seat = the agent, admin = the
// system, timer = a timer.
enum class CloseBy { client, seat, admin, timer };

// The session's own life cycle (core's, not an SDK type).
//   offering: created, looking for / waiting for an agent (queued)
//   ringing:  an agent's device is being rung
//   active:   answered and bridged
//   held:     active but on hold
//   ended:    over; kept until Call.deleteCall or the table's retention bound
enum class SessionState { offering, ringing, active, held, ended };

// The platform's call-record end states, in the SDK's order.
enum class EndState {
  ok, error, unconnected, seatGiveUp, ivrGiveUp, waitingGiveUp, ringingGiveUp,
  noSeatOnline, notWorkTime, blackList, notAnswer, userReject, powerOff,
  numberNotExist, busy, callerCancel, notInService, clientError
};

// A desk phone line's state in the SDK's words: offline = not registered.
enum class DeviceState { offline, idle, busy };

std::string_view toString(AgentStatus s);
std::string_view toString(RequestedStatus s);
std::string_view toString(SessionType t);
std::string_view toString(ServerType t);
std::string_view toString(Direction d);
std::string_view toString(CloseBy c);
std::string_view toString(SessionState s);
std::string_view toString(EndState e);
std::string_view toString(DeviceState d);

// Parsers answer nullopt for anything not spelt exactly as on the wire.
std::optional<AgentStatus> parseAgentStatus(std::string_view s);
std::optional<RequestedStatus> parseRequestedStatus(std::string_view s);
std::optional<SessionType> parseSessionType(std::string_view s);
std::optional<ServerType> parseServerType(std::string_view s);
std::optional<Direction> parseDirection(std::string_view s);
std::optional<CloseBy> parseCloseBy(std::string_view s);
std::optional<EndState> parseEndState(std::string_view s);

inline constexpr AgentStatus kAllAgentStatuses[] = {AgentStatus::offline, AgentStatus::free,
                                                   AgentStatus::busy,    AgentStatus::arrange,
                                                   AgentStatus::notReady, AgentStatus::rest};
inline constexpr SessionType kAllSessionTypes[] = {SessionType::phone, SessionType::internal};

// Event names core/ emits. SDK events keep the SDK's names; the extension events
// are seatbridge's own (gateway events about desk phones).
namespace event {
inline constexpr std::string_view statusChanged = "statusChanged";
inline constexpr std::string_view callIn = "callIn";
inline constexpr std::string_view userAccessed = "userAccessed";
inline constexpr std::string_view autoTransfer = "autoTransfer";
inline constexpr std::string_view sessionEnded = "sessionEnded";
inline constexpr std::string_view callOuted = "callOuted";
inline constexpr std::string_view calloutAccepted = "calloutAccepted";
// seatbridge's own: a call an agent placed was refused by the dial plan or a limit.
inline constexpr std::string_view calloutRefused = "calloutRefused";
// spec/interface.md's: a session held or resumed, `by` seat (the agent or the socket) or client (the far end).
inline constexpr std::string_view hold = "hold";
inline constexpr std::string_view unHold = "unHold";
inline constexpr std::string_view transfer = "transfer";
inline constexpr std::string_view extensionRegistered = "extensionRegistered";
inline constexpr std::string_view extensionUnregistered = "extensionUnregistered";
inline constexpr std::string_view extensionUnreachable = "extensionUnreachable";
inline constexpr std::string_view extensionReachable = "extensionReachable";
inline constexpr std::string_view trunkStateChanged = "trunkStateChanged";
inline constexpr std::string_view dtmf = "dtmf";
// seatbridge's own: a session's recording (docs/PROTOCOL.md).
inline constexpr std::string_view recordingStarted = "recordingStarted";
inline constexpr std::string_view recordingPaused = "recordingPaused";
inline constexpr std::string_view recordingResumed = "recordingResumed";
inline constexpr std::string_view recordingStopped = "recordingStopped";
inline constexpr std::string_view recordingFailed = "recordingFailed";
// seatbridge's own: a supervisor on a session (docs/PROTOCOL.md).
inline constexpr std::string_view monitorStarted = "monitorStarted";
inline constexpr std::string_view monitorChanged = "monitorChanged";
inline constexpr std::string_view monitorEnded = "monitorEnded";
inline constexpr std::string_view takenOver = "takenOver";
}  // namespace event

// Method names of the SDK and the gateway that core/ serves (or will serve);
// the control socket's method table should use these spellings.
namespace method {
inline constexpr std::string_view agentOnline = "Agent.online";
inline constexpr std::string_view agentOffline = "Agent.offline";
inline constexpr std::string_view agentSetStatus = "Agent.setStatus";
inline constexpr std::string_view agentGetStatus = "Agent.getStatus";
inline constexpr std::string_view callStartOutboundCall = "Call.startOutboundCall";
inline constexpr std::string_view callAccept = "Call.accept";
inline constexpr std::string_view callHungUp = "Call.hungUp";
inline constexpr std::string_view callEnd = "Call.end";
inline constexpr std::string_view callDeleteCall = "Call.deleteCall";
inline constexpr std::string_view callMuteMic = "Call.muteMic";
inline constexpr std::string_view callUnmuteMic = "Call.unmuteMic";
inline constexpr std::string_view callIsMicMuted = "Call.isMicMuted";
inline constexpr std::string_view callStartInternalCall = "Call.startInternalCall";
inline constexpr std::string_view callTransfer = "Call.transfer";
inline constexpr std::string_view callHold = "Call.hold";
inline constexpr std::string_view callUnHold = "Call.unHold";
inline constexpr std::string_view callSendDigits = "Call.sendDigits";
inline constexpr std::string_view gatewayListExtensions = "Gateway.listExtensions";
inline constexpr std::string_view gatewayListAgents = "Gateway.listAgents";
inline constexpr std::string_view gatewayListSessions = "Gateway.listSessions";
}  // namespace method

}  // namespace sb::core
