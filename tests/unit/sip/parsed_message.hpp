#pragma once
// A SIP message parsed by Sofia from text, as nta hands a request to the
// agent's callback or a response to a transaction's: for tests of code that
// reads sip_t.
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include <string>

namespace sb::sip::test {

struct Parsed {
  explicit Parsed(const std::string& text) {
    msg = msg_make(sip_default_mclass(), 0, text.data(), static_cast<isize_t>(text.size()));
    sip = msg ? sip_object(msg) : nullptr;
  }
  ~Parsed() {
    if (msg) msg_destroy(msg);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  msg_t* msg = nullptr;
  sip_t* sip = nullptr;
};

}  // namespace sb::sip::test
