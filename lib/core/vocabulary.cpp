#include "core/vocabulary.hpp"

#include <array>
#include <utility>

namespace sb::core {
namespace {

// One table per enum, in declaration order, so toString and parse cannot drift.
template <typename E, size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<AgentStatus, 6> kAgentStatus{{{AgentStatus::offline, "offline"},
                                              {AgentStatus::free, "free"},
                                              {AgentStatus::busy, "busy"},
                                              {AgentStatus::arrange, "arrange"},
                                              {AgentStatus::notReady, "notReady"},
                                              {AgentStatus::rest, "rest"}}};
constexpr Names<RequestedStatus, 5> kRequested{{{RequestedStatus::free, "free"},
                                                {RequestedStatus::rest, "rest"},
                                                {RequestedStatus::arrange, "arrange"},
                                                {RequestedStatus::notReady, "notReady"},
                                                {RequestedStatus::stopNotReady, "stopNotReady"}}};
constexpr Names<SessionType, 2> kSessionType{{{SessionType::phone, "phone"}, {SessionType::internal, "internal"}}};
constexpr Names<ServerType, 2> kServerType{
    {{ServerType::staffExtensionSeat, "staffExtensionSeat"}, {ServerType::staffPhoneSeat, "staffPhoneSeat"}}};
constexpr Names<Direction, 2> kDirection{{{Direction::inbound, "inbound"}, {Direction::outbound, "outbound"}}};
constexpr Names<CloseBy, 4> kCloseBy{
    {{CloseBy::client, "client"}, {CloseBy::seat, "seat"}, {CloseBy::admin, "admin"}, {CloseBy::timer, "timer"}}};
constexpr Names<SessionState, 5> kSessionState{{{SessionState::offering, "offering"},
                                                {SessionState::ringing, "ringing"},
                                                {SessionState::active, "active"},
                                                {SessionState::held, "held"},
                                                {SessionState::ended, "ended"}}};
constexpr Names<EndState, 18> kEndState{{{EndState::ok, "ok"},
                                         {EndState::error, "error"},
                                         {EndState::unconnected, "unconnected"},
                                         {EndState::seatGiveUp, "seatGiveUp"},
                                         {EndState::ivrGiveUp, "ivrGiveUp"},
                                         {EndState::waitingGiveUp, "waitingGiveUp"},
                                         {EndState::ringingGiveUp, "ringingGiveUp"},
                                         {EndState::noSeatOnline, "noSeatOnline"},
                                         {EndState::notWorkTime, "notWorkTime"},
                                         {EndState::blackList, "blackList"},
                                         {EndState::notAnswer, "notAnswer"},
                                         {EndState::userReject, "userReject"},
                                         {EndState::powerOff, "powerOff"},
                                         {EndState::numberNotExist, "numberNotExist"},
                                         {EndState::busy, "busy"},
                                         {EndState::callerCancel, "callerCancel"},
                                         {EndState::notInService, "notInService"},
                                         {EndState::clientError, "clientError"}}};
constexpr Names<DeviceState, 3> kDeviceState{
    {{DeviceState::offline, "offline"}, {DeviceState::idle, "idle"}, {DeviceState::busy, "busy"}}};

template <typename E, size_t N>
std::string_view nameOf(const Names<E, N>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "unknown";  // unreachable for a valid enum value
}

template <typename E, size_t N>
std::optional<E> valueOf(const Names<E, N>& table, std::string_view name) {
  for (const auto& [e, n] : table)
    if (n == name) return e;
  return std::nullopt;
}

}  // namespace

std::string_view toString(AgentStatus s) { return nameOf(kAgentStatus, s); }
std::string_view toString(RequestedStatus s) { return nameOf(kRequested, s); }
std::string_view toString(SessionType t) { return nameOf(kSessionType, t); }
std::string_view toString(ServerType t) { return nameOf(kServerType, t); }
std::string_view toString(Direction d) { return nameOf(kDirection, d); }
std::string_view toString(CloseBy c) { return nameOf(kCloseBy, c); }
std::string_view toString(SessionState s) { return nameOf(kSessionState, s); }
std::string_view toString(EndState e) { return nameOf(kEndState, e); }
std::string_view toString(DeviceState d) { return nameOf(kDeviceState, d); }

std::optional<AgentStatus> parseAgentStatus(std::string_view s) { return valueOf(kAgentStatus, s); }
std::optional<RequestedStatus> parseRequestedStatus(std::string_view s) { return valueOf(kRequested, s); }
std::optional<SessionType> parseSessionType(std::string_view s) { return valueOf(kSessionType, s); }
std::optional<ServerType> parseServerType(std::string_view s) { return valueOf(kServerType, s); }
std::optional<Direction> parseDirection(std::string_view s) { return valueOf(kDirection, s); }
std::optional<CloseBy> parseCloseBy(std::string_view s) { return valueOf(kCloseBy, s); }
std::optional<EndState> parseEndState(std::string_view s) { return valueOf(kEndState, s); }

}  // namespace sb::core
