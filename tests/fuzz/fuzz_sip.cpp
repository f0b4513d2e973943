// libFuzzer target: raw bytes as a SIP datagram through Sofia's message
// parser (msg_make: the parser nta runs on every datagram), then whatever
// seatbridge reads of a parsed request itself: a REGISTER's contacts, expiry
// and credentials (register_parse.cpp), an INVITE's caller, number, body,
// identity and IVR path (call_parse.cpp), and an INFO's DTMF. A message Sofia
// refuses is dropped here as nta drops it. Debian's Sofia-SIP keeps its
// asserts: one reached from here is an input to guard before Sofia sees it.
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/log.hpp"
#include "sip/call_parse.hpp"
#include "sip/register_parse.hpp"

using namespace sb::sip;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sb::log::setLevel(sb::log::Level::error);  // a malformed message's warning per input is noise
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  msg_t* msg = msg_make(sip_default_mclass(), 0, data, static_cast<isize_t>(size));
  if (!msg) return 0;
  const sip_t* sip = sip_object(msg);
  if (sip && sip->sip_request) {
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
  msg_destroy(msg);
  return 0;
}
