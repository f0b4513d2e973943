// Call.sendDigits on a call leg: with anchored media and a leg that negotiated
// telephone-event, RFC 4733 events in the RTP seatbridge sends it (the media
// engine); otherwise DTMF as SIP INFO. The INFO's body is
// application/dtmf-relay ("Signal=5\r\nDuration=160"), the format Cisco phones
// introduced and most PBXs and carriers read (and the one parseDtmfInfo reads
// in from phones); the legacy INFO usage of RFC 6086 §2, without an Info-Package.
// One INFO per digit, each sent once the one before it has its final answer,
// so a far end that handles requests in parallel still gets them in order.
#include <sofia-sip/nta.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <string>
#include <utility>

#include "common/log.hpp"
#include "sip/call_legs_parts.hpp"

namespace sb::sip {
namespace {

// How long each key is pressed, in ms: the Duration the far end plays or
// reports. 160 ms is what desk phones send for a short press (and above the
// 40 ms ITU-T Q.24 asks a receiver to detect).
constexpr int kDigitMs = 160;
// Digits waiting on one leg: Call.sendDigits takes 32 at a time; this bounds
// a client that sends faster than the far end answers.
constexpr size_t kMaxPending = 256;

}  // namespace

int LegCallbacks::digitResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
  auto* leg = reinterpret_cast<CallLegs::Leg*>(m);
  return guarded(*leg->owner, "digit response", [&] { return leg->owner->onDigitResponse(*leg, orq, sip); });
}

void CallLegs::sendDigits(const core::SendDigits& a) {
  Leg* leg = find(a.leg);
  // Answered: our 2xx may still wait for its ACK; the digits go once it comes
  // (acked()), as an INFO is a request of the confirmed dialog.
  if (!leg || leg->state == Leg::State::early || !leg->dialog) return;
  if (media_ && media_->sendDigits(leg->id, a.digits)) return;  // RFC 4733, in the leg's RTP
  LegDigits& d = leg->digits;
  if (d.pending.size() + a.digits.size() > kMaxPending) {
    SB_WARN("calls", "leg %llu: %zu digits already wait to be sent; '%s' dropped",
            static_cast<unsigned long long>(leg->id), d.pending.size(), a.digits.c_str());
    return;
  }
  d.pending += a.digits;
  if (!d.orq && leg->state == Leg::State::confirmed) sendDigit(*leg);
}

bool CallLegs::sendDigit(Leg& leg, bool challenged) {
  LegDigits& d = leg.digits;
  if (d.pending.empty() || !leg.dialog) return false;
  if (!challenged) d.auth = authFor(leg.trunk);  // a new INFO carries no credentials up front
  const std::string body = std::string("Signal=") + d.pending.front() + "\r\nDuration=" + std::to_string(kDigitMs) + "\r\n";
  d.orq = nta_outgoing_tcreate(leg.dialog, &LegCallbacks::digitResponse, reinterpret_cast<nta_outgoing_magic_t*>(&leg),
                               leg.routeUrl.empty() ? nullptr : URL_STRING_MAKE(leg.routeUrl.c_str()), SIP_METHOD_INFO,
                               nullptr, SIPTAG_CONTENT_TYPE_STR("application/dtmf-relay"),
                               SIPTAG_PAYLOAD_STR(body.c_str()),
                               TAG_IF(challenged, SIPTAG_HEADER_STR(d.auth.lines().c_str())),
                               SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
  if (!d.orq) d.pending.clear();
  return d.orq != nullptr;
}

int CallLegs::onDigitResponse(Leg& leg, nta_outgoing_t* orq, const sip_t* sip) {
  LegDigits& d = leg.digits;
  if (orq != d.orq) return 0;
  const int status = nta_outgoing_status(orq);
  if (status < 200) return 0;
  orqGraveyard_.push_back(std::exchange(d.orq, nullptr));  // released once this callback returns
  if (find(leg.id) != &leg) return 0;
  // A trunk's challenge: the same digit again with its credentials (RFC 3261 §22.2).
  if (isChallenge(status, sip) && d.auth.answer(sip, "INFO", requestUriOf(orq)) && sendDigit(leg, true))
    return 0;
  if (const DialogGone gone = dialogGone(status, sip); gone.code) {
    SB_INFO("calls", "leg %llu: a DTMF INFO failed (%d), ending the leg", static_cast<unsigned long long>(leg.id),
            status);
    endLeg(leg, gone.code, gone.bye);
    return 0;
  }
  if (status >= 300) {
    // Refused (415, 501, ...): the rest would be refused alike.
    SB_WARN("calls", "leg %llu: the far end refused a DTMF INFO (%d); %zu digits not sent",
            static_cast<unsigned long long>(leg.id), status, d.pending.size());
    d.pending.clear();
    return 0;
  }
  d.pending.erase(0, 1);
  sendDigit(leg);
  return 0;
}

}  // namespace sb::sip
