// Call quality (docs/CORE.md, "Call quality"): with anchored media the media
// engine measures each leg's RTCP and reports its figures (LegQuality) every
// few seconds, and a last time, `final`, when the leg's endpoint closes. The
// session keeps the latest of the customer's leg and of the agent's, for
// Gateway.listSessions and the record (spec/interface.md: `quality`).
//
// The final figures come after the end by nature: the endpoint closes once
// the leg is hung up, and the call is gone from core by then. So endCall
// keeps the call's two legs here, and a final report for an ended session
// updates it and asks the host to write its record again (UpdateRecord).
#include "core/gateway.hpp"

namespace sb::core {
namespace {

// As many legs as the session table keeps ended sessions (two each): a leg
// whose final report never came is forgotten with its session.
constexpr size_t kEndedLegs = 2000;

}  // namespace

void Gateway::keepForQuality(const Call& call) {
  for (const auto& [leg, customer] : {std::pair{call.customerLeg, true}, std::pair{call.agentLeg, false}}) {
    if (leg == 0) continue;
    endedLegs_[leg] = QualityLeg{call.sessionId, customer};
    endedLegOrder_.push_back(leg);
  }
  while (endedLegOrder_.size() > kEndedLegs) {
    endedLegs_.erase(endedLegOrder_.front());
    endedLegOrder_.pop_front();
  }
}

Outputs Gateway::onQuality(const LegQuality& q) {
  Outputs out;
  std::string sessionId;
  bool customer = true;
  if (Call* call = callOfLeg(q.leg)) {
    // A live call: only its two parties' legs (an offer still ringing, a
    // transfer's new agent before the answer or a supervisor are not the
    // session's parties).
    if (q.leg != call->customerLeg && q.leg != call->agentLeg) return out;
    sessionId = call->sessionId;
    customer = q.leg == call->customerLeg;
  } else if (auto kept = endedLegs_.find(q.leg); kept != endedLegs_.end()) {
    sessionId = kept->second.sessionId;
    customer = kept->second.customer;
    if (q.final) endedLegs_.erase(kept);  // (its place in the order goes with the bound)
  } else {
    return out;  // a leg core never had, or let go of long ago
  }
  Session* s = sessions_.find(sessionId);
  if (!s) return out;
  CallQuality figures{q.mos, q.jitterMs, q.lossPercent, std::nullopt};
  if (q.rttMs >= 0) figures.rttMs = q.rttMs;
  (customer ? s->customerQuality : s->agentQuality) = figures;
  if (!s->live()) out.push(UpdateRecord{sessionId});
  return out;
}

}  // namespace sb::core
