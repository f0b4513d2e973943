#pragma once
// One agent's status machine (contact-centre-sdk.md AgentStatus), pure: no events,
// no timer ids, no config. The Gateway turns its Effects into events and timers.
//
// Rules (docs/CORE.md has the full table):
//  - online: offline -> free; idempotent otherwise (a pending sign-out is withdrawn).
//  - offline: from free/arrange/notReady/rest -> offline at once; while busy it
//    becomes the pending status (a sign-out never cuts a customer off).
//  - setStatus free/rest/arrange/notReady: immediate unless busy; while busy it is
//    remembered as the pending status (last request wins).
//  - stopNotReady: notReady -> free; while busy it withdraws a pending notReady.
//  - seize (a call starts): -> busy. The status held before the call becomes the
//    pending status unless it was free, so a notReady agent who dials out comes
//    back notReady. Seizing an offline agent is refused.
//  - release of the last call: -> arrange for the wrap-up time, then the pending
//    status (or free). Wrap-up 0 goes straight there.
//  - during a timed wrap-up any request applies at once and ends the wrap-up.
#include <optional>
#include <set>
#include <string>

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/vocabulary.hpp"

namespace sb::core {

// A status with its rest reason (empty unless status is rest).
struct StatusValue {
  AgentStatus status = AgentStatus::offline;
  std::string restReason;
  friend bool operator==(const StatusValue&, const StatusValue&) = default;
};

class Agent {
 public:
  // What a step did, for the Gateway to turn into events and timer actions.
  struct Effects {
    bool statusChanged = false;
    bool startWrapUp = false;   // start a wrap-up timer ending at wrapUpDeadline()
    bool cancelWrapUp = false;  // the running wrap-up timer is no longer wanted
    std::optional<Error> error;
    bool ok() const { return !error.has_value(); }
  };

  // `since` is when the agent entered its first status (offline): the daemon's start.
  Agent(std::string userId, TimePoint since) : userId_(std::move(userId)), since_(since) {}

  Effects online(TimePoint now);
  Effects offline(TimePoint now);
  Effects setStatus(RequestedStatus requested, const std::string& restReason, TimePoint now);
  // A call leg of this agent was seized (offered-and-answered or dialled out).
  Effects seize(const std::string& sessionId, TimePoint now);
  // The agent's part in the session is over; `wrapUp` is the skill group's
  // afterCallWork (0 for none).
  Effects release(const std::string& sessionId, Duration wrapUp, TimePoint now);
  // The wrap-up timer fired (the Gateway has already checked it is the current one).
  Effects wrapUpDone(TimePoint now);

  const std::string& userId() const { return userId_; }
  const StatusValue& current() const { return current_; }
  AgentStatus status() const { return current_.status; }
  const std::optional<StatusValue>& pending() const { return pending_; }
  bool inWrapUp() const { return wrapUpDeadline_.has_value(); }
  std::optional<TimePoint> wrapUpDeadline() const { return wrapUpDeadline_; }
  TimePoint statusSince() const { return since_; }
  const std::set<std::string>& sessions() const { return sessions_; }
  // Whether routing may offer this agent an inbound call.
  bool offerable() const { return current_.status == AgentStatus::free; }

 private:
  Effects moveTo(StatusValue next, TimePoint now);
  Effects endWrapUpInto(StatusValue next, TimePoint now);
  StatusValue afterCallStatus() const;

  std::string userId_;
  StatusValue current_;
  std::optional<StatusValue> pending_;
  std::optional<TimePoint> wrapUpDeadline_;
  std::set<std::string> sessions_;
  TimePoint since_{};
};

}  // namespace sb::core
