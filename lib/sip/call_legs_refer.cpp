// A desk phone's transfer key (RFC 3515): its REFER, in the dialog of an
// answered call, is answered 202 Accepted with the first NOTIFY of the
// implicit subscription (100 Trying, §2.4.4) and reported to core as
// LegRefer; core's NotifyRefer says how the transfer went (200, or the
// failure), which ends the subscription (§2.4.5). An attended transfer's
// Refer-To carries a Replaces header (RFC 3891 §3, in the URI's headers,
// RFC 3261 §19.1.1) naming the phone's other dialog with us: we are the
// transfer target, so the dialog is looked up among our own and reported as
// the leg it belongs to. Anything but a sip: URI is refused; so is a REFER on
// a leg not yet confirmed.
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/url.h>

#include <cstring>

#include "common/log.hpp"
#include "sip/call_legs_parts.hpp"
#include "sip/sofia.hpp"

namespace sb::sip {
namespace {

// RFC 3515 §2.4.5: the sipfrag's status line; the phrases of RFC 3261 §21.
const char* phraseOf(int code) {
  switch (code) {
    case 100: return "Trying";
    case 200: return "OK";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 481: return "Call/Transaction Does Not Exist";
    case 480: return "Temporarily Unavailable";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    default: return "Service Unavailable";
  }
}

// The Replaces header in a Refer-To URI's headers ("Replaces=<escaped value>",
// others joined by '&'), unescaped; "" when there is none.
std::string replacesOf(const char* headers) {
  for (const char* h = headers; h && *h;) {
    const char* end = std::strchr(h, '&');
    const size_t len = end ? static_cast<size_t>(end - h) : std::strlen(h);
    if (len > 9 && su_casenmatch(h, "Replaces=", 9)) {
      std::string value(h + 9, len - 9);
      value.resize(url_unescape_to(value.data(), value.c_str(), value.size()));
      return value;
    }
    h = end ? end + 1 : nullptr;
  }
  return {};
}

}  // namespace

// The leg of ours whose dialog a Replaces value names (RFC 3891 §3: its
// to-tag is our tag, its from-tag the phone's); 0 when none does.
core::LegId CallLegs::legByReplaces(const std::string& value) {
  Home home;
  sip_replaces_t* rp = sip_replaces_make(home.get(), value.c_str());
  if (!rp) return 0;
  nta_leg_t* dialog = nta_leg_by_replaces(agent_, rp);
  const auto* leg = reinterpret_cast<const Leg*>(nta_leg_magic(dialog, &LegCallbacks::dialogRequest));
  return leg && find(leg->id) == leg ? leg->id : 0;
}

int CallLegs::onRefer(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  const sip_refer_to_t* to = sip->sip_refer_to;
  // RFC 3515 §2.4.1: exactly one Refer-To; without it the REFER is malformed.
  if (!to || to->r_next) return 400;
  const url_t* url = to->r_url;
  if (!url || (url->url_type != url_sip && url->url_type != url_sips)) return 416;  // §21.4.16
  if (leg.state != Leg::State::confirmed) return 481;
  const std::string replaces = replacesOf(url->url_headers);
  // A blind transfer names who to call; an attended one names the dialog (its
  // URI is often just the target's Contact, RFC 5589 §7.1, which here is us).
  if (replaces.empty() && !url->url_user) return 416;
  core::LegRefer refer{leg.id, url->url_user ? url->url_user : ""};
  if (!replaces.empty()) {
    refer.attended = true;
    refer.replaces = legByReplaces(replaces);  // 0: core answers 481 in the NOTIFY
  } else if (!leg.peer) {
    return 481;
  }
  nta_incoming_treply(irq, SIP_202_ACCEPTED, SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
  nta_incoming_destroy(irq);
  sendReferNotify(leg, 100);
  report(std::move(refer));
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
