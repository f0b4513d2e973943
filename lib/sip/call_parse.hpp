#pragma once
// What a new INVITE tells the call layer, read once from Sofia's parsed message
// into plain data (the parts that are plain text are testable without Sofia: see
// parseIvrPath and dialledNumber).
#include <sofia-sip/sip.h>

#include <nlohmann/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace sb::sip {

struct InviteInfo {
  std::string number;        // dialled: Request-URI user, else To user
  std::string callerNumber;  // From user
  std::string callerName;    // From display name, unquoted
  nlohmann::json ivrPath = nlohmann::json::array();
  unsigned maxForwards = 70;  // RFC 3261 §8.1.1.6 default when absent
  std::string sdp;
  std::string contentType;
};

InviteInfo parseInvite(const sip_t* sip);

// A message's body and its Content-Type's media type, as plain strings ("" when absent).
struct Payload {
  std::string type, body;
};
Payload payloadOf(const sip_t* sip);
bool hasBody(const sip_t* sip);
// Whether the body is an SDP (application/sdp, RFC 3264).
bool isSdp(const sip_t* sip);
// The CSeq number (1 without a CSeq: a request we would not have taken).
uint32_t cseqOf(const sip_t* sip);
// What tells one INVITE transaction from another when nta no longer holds it
// (RFC 3261 §17.2.3): Call-ID, From tag, CSeq number and the top Via's branch
// and sent-by; "" without a Call-ID, CSeq or Via. A retransmission has the
// same key, a new INVITE (a re-sent one after 401/407/422 has a new CSeq and
// branch) another.
std::string inviteKey(const sip_t* sip);

// The header a PBX may send with the menu choices a customer made before the
// call reached us, e.g. "X-IVR-Path: 1=Sales;2=English". Case-insensitive name.
inline constexpr const char* kIvrPathHeader = "X-IVR-Path";
// "1=Sales;2=English" -> [{"key":"1","label":"Sales"},{"key":"2","label":"English"}];
// empty items are skipped, an item without '=' is a key with an empty label.
// At most 32 items, each key and label at most 64 bytes (longer ones are cut):
// the header comes from outside and ends up in every callIn.
nlohmann::json parseIvrPath(std::string_view value);
// The trunk whose inboundFrom holds `ip` (first match in configuration order), or null.
const config::Trunk* trunkForSource(const std::vector<config::Trunk>& trunks, const std::string& ip);
// A user part as a number: URI parameters (";phone-context=...") cut off.
std::string dialledNumber(std::string_view user);
// Whether the message's Allow-Events lists the event package (RFC 6665 §8.2.2;
// package names compare case-insensitively, §7.2.1 via RFC 3261 §25.1 tokens).
bool allowsEvent(const sip_t* sip, std::string_view package);
// The key an INFO carries, as phones and trunks send it: application/dtmf-relay
// ("Signal=5\r\nDuration=160", the de-facto format of Cisco and most PBXs) or
// application/dtmf (the body is the key alone). 0-9 * # A-D (any case); the
// event names 10 and 11 of RFC 4733 §3.2 stand for * and #. Anything else,
// another content type or a malformed body: none.
std::optional<char> parseDtmfInfo(std::string_view contentType, std::string_view body);

}  // namespace sb::sip
