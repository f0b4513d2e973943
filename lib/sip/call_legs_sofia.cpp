// CallLegs' Sofia callbacks: the C boundary. Each is noexcept and enters
// through LegCallbacks::guarded, so no exception unwinds into Sofia and no Sofia
// object is released inside its own callback (CallLegs::leave reaps the
// graveyards once the outermost callback has returned).
#include <sofia-sip/sip.h>
#include <sofia-sip/url.h>

#include "sip/call_legs_parts.hpp"
#include "sip/register_parse.hpp"
#include "sip/sofia.hpp"

namespace sb::sip {

int LegCallbacks::dialogRequest(nta_leg_magic_t* m, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) noexcept {
  auto* leg = reinterpret_cast<CallLegs::Leg*>(m);
  return guarded(*leg->owner, "dialog request", [&] { return leg->owner->onDialogRequest(*leg, irq, sip); });
}

int LegCallbacks::forkRequest(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*) noexcept { return 481; }

int LegCallbacks::inviteServer(nta_incoming_magic_t* m, nta_incoming_t* irq, const sip_t* sip) noexcept {
  auto* leg = reinterpret_cast<CallLegs::Leg*>(m);
  return guarded(*leg->owner, "INVITE server event", [&] { return leg->owner->onInviteServerEvent(*leg, irq, sip); });
}

int LegCallbacks::forkResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
  auto* fork = reinterpret_cast<CallLegs::Fork*>(m);
  return guarded(*fork->owner, "INVITE response", [&] { return fork->owner->onForkResponse(*fork, orq, sip); });
}

int LegCallbacks::talkResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
  auto* fork = reinterpret_cast<CallLegs::Fork*>(m);
  return guarded(*fork->owner, "NOTIFY talk response", [&] { return fork->owner->onTalkResponse(*fork, orq, sip); });
}

int LegCallbacks::relayResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
  auto* relay = reinterpret_cast<CallLegs::Relay*>(m);
  return guarded(*relay->owner, "relayed response", [&] { return relay->owner->onRelayResponse(*relay, orq, sip); });
}

int LegCallbacks::closingResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
  auto* c = reinterpret_cast<CallLegs::Closing*>(m);
  return guarded(*c->owner, "BYE response", [&] { return c->owner->onClosingResponse(*c, orq, sip); });
}

int LegCallbacks::closingRequest(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) noexcept {
  const sip_method_t m = sip && sip->sip_request ? sip->sip_request->rq_method : sip_method_unknown;
  if (m == sip_method_ack) {
    nta_incoming_destroy(irq);  // never answered (RFC 3261 §17.2.1)
    return 0;
  }
  return m == sip_method_bye ? 200 : 481;
}

void LegCallbacks::ackWait(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  auto* leg = static_cast<CallLegs::Leg*>(arg);
  guarded(*leg->owner, "ACK wait", [&] {
    leg->owner->onAckWait(*leg);
    return 0;
  });
}

std::string requestUriOf(nta_outgoing_t* orq) {
  const url_t* u = nta_outgoing_request_uri(orq);
  if (!u) return {};
  Home home;
  char* s = url_as_string(home.get(), u);
  return s ? std::string(s) : std::string();
}

void CallLegs::onSweep(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  auto* self = static_cast<CallLegs*>(arg);
  LegCallbacks::guarded(*self, "sweep", [&] {
    self->sweep();
    return 0;
  });
}

void CallLegs::onTrunkInvite(msg_t* msg, sip_t* sip, const config::Trunk& trunk) {
  LegCallbacks::guarded(*this, "trunk INVITE", [&] {
    acceptInvite(msg, sip, trunk.name, {}, {});
    return 0;
  });
}

void CallLegs::onDeskPhoneInvite(msg_t* msg, sip_t* sip, const std::string& extension, const std::string& source) {
  LegCallbacks::guarded(*this, "desk phone INVITE", [&] {
    acceptInvite(msg, sip, {}, extension, routeForSource(source));
    return 0;
  });
}

}  // namespace sb::sip
