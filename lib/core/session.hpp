#pragma once
// One contact-centre session (a call as the SDK sees it) and its life cycle:
//   offering -> ringing | active | ended
//   ringing  -> active | offering (autoTransfer / Call.end: back to the queue) | ended
//   active   -> held | offering (Call.transfer to a skill group) | ended
//   held     -> active | offering | ended
//   ended    -> (nothing; deleted by Call.deleteCall or retention)
// Wall-clock timestamps (ms since the epoch) are passed in, as everything in core/.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/vocabulary.hpp"

namespace sb::core {

// What the creator of a session knows up front.
struct SessionSpec {
  SessionType type = SessionType::phone;
  ServerType serverType = ServerType::staffExtensionSeat;
  Direction direction = Direction::inbound;
  std::string callerPhoneNumber;
  std::string calleePhoneNumber;
  std::string userId;        // the agent serving it; empty while queued
  std::string peerUserId;    // internal calls: the other agent
  std::string skillGroupId;  // may be empty (e.g. an outbound call without one)
  std::string uui;           // user data travelling with the call (Call.startOutboundCall)
  std::string remark;
  std::string trunk;         // the trunk a customer's leg came in on
};

// One offer of the session to an agent, for the record: who, when, how it went
// (answered, missed = rang out, rejected, failed = the device could not be
// reached, withdrawn = the customer left or the call ended while it rang).
struct Offer {
  std::string userId;
  std::string serverType;
  int64_t atMs = 0;
  std::string outcome;  // empty while ringing
};

// How a session ended.
struct SessionEnd {
  CloseBy closeBy = CloseBy::admin;
  EndState endState = EndState::ok;
  std::string mainReason;  // the SDK sets these only when closeBy is admin
  std::string subReason;
};

// A leg's call quality (anchored media: RTCP, lib/media/rtcp.hpp): its
// estimated MOS, and the worse of its two directions' jitter and loss; the
// round-trip time when the phone answered our sender reports.
struct CallQuality {
  double mos = 0;
  double jitterMs = 0;
  double lossPercent = 0;
  std::optional<double> rttMs;
};

struct Session {
  std::string sessionId;
  SessionSpec spec;
  SessionState state = SessionState::offering;
  int64_t createdAtMs = 0;
  std::optional<int64_t> ringingAtMs;   // first time it rang an agent
  std::optional<int64_t> answeredAtMs;  // first time it became active
  std::optional<int64_t> endedAtMs;
  std::optional<SessionEnd> end;        // set once ended
  std::vector<Offer> offers;            // in order
  std::string recording;                // the recording's file, once one was started
  // The latest quality of the customer's leg and of the agent's (the last
  // agent's, after a transfer); the final figures arrive just after the end.
  std::optional<CallQuality> customerQuality, agentQuality;

  bool live() const { return state != SessionState::ended; }
  // Gateway.listSessions / records: the SDK's field names where it has them.
  nlohmann::json toJson() const;
};

// Whether the life cycle above allows from -> to.
bool sessionTransitionAllowed(SessionState from, SessionState to);

// Moves `s` to `to` at wall-clock `wallMs`, stamping ringingAt/answeredAt on the
// first ring/answer. `end` is required for (and only used by) the move to ended.
// Fails with invalidTransition, leaving `s` untouched.
Result transitionSession(Session& s, SessionState to, int64_t wallMs, const std::optional<SessionEnd>& end = {});

}  // namespace sb::core
