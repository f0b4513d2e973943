#pragma once
// core/'s routing state for one inbound customer call, beside its Session (which
// holds what the SDK and the records see). A call waits in its skill group's
// queue until an agent answers; while it waits it may be offered to one agent at
// a time (one outbound leg, which the SIP layer forks to the agent's contacts).
#include <nlohmann/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/outputs.hpp"
#include "core/vocabulary.hpp"

namespace sb::core {

// A call an agent places (gateway_outbound.cpp) uses the same record: the
// agent's leg is known from the start (agentLeg, agentUserId), customerLeg is
// the one rung through a trunk, phase waiting means "dialling".
struct Call {
  enum class Phase {
    waiting,  // queued; maybe ringing an agent (offerLeg != 0)
    bridged,  // an agent answered; both legs up
  };
  std::string sessionId;
  std::string skillGroupId;
  std::string trunk;
  Phase phase = Phase::waiting;
  LegId customerLeg = 0;
  TimePoint queuedAt{};
  TimerId queueTimer = 0;
  TimerId lifeTimer = 0;  // calls.maxSessionSeconds from arrival
  nlohmann::json ivrPath = nlohmann::json::array();

  // The offer ringing now (offerLeg 0: none).
  LegId offerLeg = 0;
  std::string offeredTo;  // userId
  ServerType offerDevice = ServerType::staffExtensionSeat;
  TimerId ringTimer = 0;
  TimePoint offeredAt{};
  // A mobile that answered, waiting for the agent's key (calls.mobileConfirmSeconds).
  bool confirming = false;
  TimerId confirmTimer = 0;
  // The desk phone offers remote answer (LegRinging::remoteAnswer), and the
  // tabUUID of the connection whose Call.accept asked it to (userAccessed's).
  bool remoteAnswer = false;
  bool acceptAsked = false;
  std::string acceptedBy;

  // After the answer.
  LegId agentLeg = 0;
  bool micMuted = false;  // Call.muteMic: what agentLeg sends is silenced (a new agent's leg starts unmuted)
  std::string agentUserId;
  TimePoint answeredAt{};
  // The session's recording (gateway_recording.cpp): of customerLeg, so it
  // follows the customer through transfers.
  enum class Recording { off, on, paused };
  Recording recording = Recording::off;
  // A supervisor on the call (gateway_monitor.cpp): their leg, ringing until
  // monitorAnswered; what they do (listen, whisper to the agent, barge in);
  // and whether Call.takeover waits for that answer to put them in the
  // agent's place.
  enum class MonitorMode { listen, whisper, barge };
  LegId monitorLeg = 0;
  std::string monitorUserId;
  ServerType monitorDevice = ServerType::staffExtensionSeat;
  MonitorMode monitorMode = MonitorMode::listen;
  bool monitorAnswered = false;
  bool takeoverAsked = false;
  TimerId monitorTimer = 0;

  // Agents who missed or refused an offer of this call, and when: not offered
  // it again while another agent is eligible, and not sooner than
  // kReofferDelay after their refusal when nobody else is.
  std::map<std::string, TimePoint> declined;
  TimerId retryTimer = 0;  // the dispatch that may re-offer it to one of them

  // The customer's leg has been answered once (a later agent's answer is
  // re-offered to it instead: Call.transfer).
  bool customerAnswered = false;
  bool queueMusic = false;  // the customer hears its skill group's queueMusic while waiting (early media)
  // Anchored media: the bridge's codec is not G.711 (LegAnswered::decodable):
  // no music, mix or recording can be made of it (docs/CORE.md, "Codecs").
  bool undecodable = false;
  // Call.transfer to one agent (gateway_transfer.cpp): their leg ringing
  // while the first agent stays on the line.
  LegId transferLeg = 0;
  std::string transferTo;
  ServerType transferDevice = ServerType::staffExtensionSeat;
  TimerId transferTimer = 0;
  LegId referLeg = 0;  // the desk phone's leg whose REFER asked for it: told how it went

  // Placed by an agent (outbound): ringTimer bounds the customer's ringing.
  bool outbound = false;
  std::string extensionId;              // the desk phone that dialled
  std::vector<std::string> trunksLeft;  // failover: trunks still to try after this one
  std::string limitKey;  // whose outbound limits it counts against (the extension, or "agent:" + userId)
  // Call.startOutboundCall (gateway_3pcc.cpp): the agent's device is rung
  // first (agentLeg, an outbound leg), the customer only once it answered.
  bool thirdParty = false;
  std::string uui;
  // An internal call (an extension dialled): the called line, and its agent
  // (may be empty: a line bound to no agent). customerLeg rings that phone.
  bool internal = false;
  std::string peerExtension;
  std::string peerUserId;
  std::optional<LegTarget> peerTarget;  // Call.startInternalCall: the callee's device, rung once the caller answered
};

// An event about one session for the agent it concerns (userId empty: for
// every subscriber).
inline Event sessionEvent(std::string_view name, const std::string& userId, nlohmann::json data) {
  Event e;
  e.name = std::string(name);
  if (!userId.empty()) e.userId = userId;
  e.data = std::move(data);
  return e;
}

}  // namespace sb::core
