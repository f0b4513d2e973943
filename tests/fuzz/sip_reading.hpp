// What seatbridge reads of a request Sofia parsed, for the fuzz targets that
// hand Sofia's output on (fuzz_sip after msg_make, fuzz_nta after nta's whole
// receive path): a REGISTER's contacts, expiry and credentials
// (register_parse.cpp), an INVITE's caller, number, body, identity and IVR
// path (call_parse.cpp), and an INFO's DTMF.
#pragma once

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include <string_view>

#include "sip/call_parse.hpp"
#include "sip/register_parse.hpp"

namespace sb::fuzz {

inline void readRequest(msg_t* msg, const sip_t* sip) {
  using namespace sb::sip;
  (void)payloadOf(sip);
  (void)hasBody(sip);
  (void)isSdp(sip);
  (void)cseqOf(sip);
  (void)inviteKey(sip);
  (void)allowsEvent(sip, "talk");
  (void)contactKey(sip->sip_request->rq_url);
  switch (sip->sip_request->rq_method) {
    case sip_method_register: (void)parseRegister(msg, sip); break;
    case sip_method_invite: {
      const InviteInfo info = parseInvite(sip);
      (void)dialledNumber(info.number);
      (void)parseCall(msg, sip);
      break;
    }
    case sip_method_info:
      if (sip->sip_content_type && sip->sip_content_type->c_type && sip->sip_payload)
        (void)parseDtmfInfo(sip->sip_content_type->c_type,
                            std::string_view(sip->sip_payload->pl_data, sip->sip_payload->pl_len));
      break;
    default: break;
  }
}

}  // namespace sb::fuzz
