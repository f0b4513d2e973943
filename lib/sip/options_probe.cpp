#include "sip/options_probe.hpp"

#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_tag.h>

#include "common/ids.hpp"

namespace sb::sip {

bool sendOptionsProbe(nta_agent_t* agent, const std::string& requestUri, const std::string& route,
                      const std::string& callId, const std::string& fromHost, const std::string& userAgent) {
  msg_t* msg = nta_msg_create(agent, 0);
  sip_t* sip = sip_object(msg);
  if (!sip) {
    msg_destroy(msg);
    return false;
  }
  su_home_t* home = msg_home(msg);
  const std::string from = "<sip:seatbridge@" + fromHost + ">;tag=" + randomHex(4);
  const std::string to = "<" + requestUri + ">";
  sip_request_t* rq = sip_request_create(home, SIP_METHOD_OPTIONS, URL_STRING_MAKE(requestUri.c_str()), nullptr);
  if (!rq || sip_add_tl(msg, sip, SIPTAG_REQUEST(rq), SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(to.c_str()),
                        SIPTAG_CALL_ID_STR(callId.c_str()), SIPTAG_CSEQ_STR("1 OPTIONS"), SIPTAG_MAX_FORWARDS_STR("70"),
                        SIPTAG_USER_AGENT_STR(userAgent.c_str()), TAG_END()) < 0) {
    msg_destroy(msg);
    return false;
  }
  return nta_msg_tsend(agent, msg, route.empty() ? nullptr : URL_STRING_MAKE(route.c_str()), TAG_END()) >= 0;
}

}  // namespace sb::sip
