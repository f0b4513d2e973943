// A desk phone's transfer key (RFC 3515): its REFER, in the dialog of an
// answered call, is answered 202 Accepted with the first NOTIFY of the
// implicit subscription (100 Trying, §2.4.4) and reported to core as
// LegRefer; core's NotifyRefer says how the transfer went (200, or the
// failure), which ends the subscription (§2.4.5). A REFER for an attended
// transfer (Refer-To with Replaces, RFC 3891) or anything but a sip: URI is
// refused; so is one on a leg not bridged to a customer.
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_string.h>

#include "common/log.hpp"
#include "sip/call_legs_parts.hpp"

namespace sb::sip {
namespace {

// RFC 3515 §2.4.5: the sipfrag's status line; the phrases of RFC 3261 §21.
const char* phraseOf(int code) {
  switch (code) {
    case 100: return "Trying";
    case 200: return "OK";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 480: return "Temporarily Unavailable";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    default: return "Service Unavailable";
  }
}

}  // namespace

int CallLegs::onRefer(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  const sip_refer_to_t* to = sip->sip_refer_to;
  // RFC 3515 §2.4.1: exactly one Refer-To; without it the REFER is malformed.
  if (!to || to->r_next) return 400;
  const url_t* url = to->r_url;
  if (!url || (url->url_type != url_sip && url->url_type != url_sips) || !url->url_user) return 416;  // §21.4.16
  // Attended transfer (Replaces in the Refer-To's headers, RFC 3891 §3) is not handled yet.
  if (url->url_headers && su_casenmatch(url->url_headers, "Replaces=", 9)) return 501;
  if (!leg.peer || leg.state != Leg::State::confirmed) return 481;
  nta_incoming_treply(irq, SIP_202_ACCEPTED, SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
  nta_incoming_destroy(irq);
  sendReferNotify(leg, 100);
  report(core::LegRefer{leg.id, url->url_user});
  return 0;
}

void CallLegs::notifyRefer(const core::NotifyRefer& a) {
  if (Leg* leg = find(a.leg)) sendReferNotify(*leg, a.code);
}

void CallLegs::sendReferNotify(Leg& leg, int code) {
  if (!leg.dialog) return;
  const std::string body = "SIP/2.0 " + std::to_string(code) + " " + phraseOf(code) + "\r\n";
  const char* state = code >= 200 ? "terminated;reason=noresource" : "active;expires=60";
  nta_outgoing_t* n = nta_outgoing_tcreate(
      leg.dialog, nullptr, nullptr, leg.routeUrl.empty() ? nullptr : URL_STRING_MAKE(leg.routeUrl.c_str()),
      SIP_METHOD_NOTIFY, nullptr, SIPTAG_EVENT_STR("refer"), SIPTAG_SUBSCRIPTION_STATE_STR(state),
      SIPTAG_CONTACT(nta_agent_contact(agent_)), SIPTAG_USER_AGENT_STR(server_.c_str()),
      SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"), SIPTAG_PAYLOAD_STR(body.c_str()), TAG_END());
  if (n)
    nta_outgoing_destroy(n);  // nta completes it; the phone's answer changes nothing here
  else
    SB_WARN("calls", "leg %llu: cannot send the REFER's NOTIFY", static_cast<unsigned long long>(leg.id));
}

}  // namespace sb::sip
