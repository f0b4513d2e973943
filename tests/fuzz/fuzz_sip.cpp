// libFuzzer target: raw bytes as a SIP datagram through Sofia's message
// parser (msg_make: the parser nta runs on every datagram), then whatever
// seatbridge reads of a parsed request itself: a REGISTER's contacts, expiry
// and credentials (register_parse.cpp), an INVITE's caller, number, body,
// identity and IVR path (call_parse.cpp), and an INFO's DTMF (sip_reading.hpp).
// A message Sofia refuses is dropped here as nta drops it. Debian's Sofia-SIP keeps its
// asserts: one reached from here is an input to guard before Sofia sees it.
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_parser.h>

#include <cstddef>
#include <cstdint>

#include "common/log.hpp"
#include "sip_reading.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sb::log::setLevel(sb::log::Level::error);  // a malformed message's warning per input is noise
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  msg_t* msg = msg_make(sip_default_mclass(), 0, data, static_cast<isize_t>(size));
  if (!msg) return 0;
  const sip_t* sip = sip_object(msg);
  if (sip && sip->sip_request) sb::fuzz::readRequest(msg, sip);
  msg_destroy(msg);
  return 0;
}
