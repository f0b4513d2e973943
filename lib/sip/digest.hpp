#pragma once
// HTTP digest arithmetic for SIP (RFC 3261 §22.4, RFC 7616 §3.4, RFC 8760):
// hashes, the Authorization parameters and the response value. Pure: no Sofia.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::sip {

enum class DigestAlgorithm { md5, sha256, sha512_256 };

// "MD5", "SHA-256", "SHA-512-256" (case-insensitive, RFC 7616 §6.1); nullopt for
// anything else, including the -sess variants that seatbridge never offers.
std::optional<DigestAlgorithm> parseDigestAlgorithm(std::string_view name);
const char* digestAlgorithmName(DigestAlgorithm a);

// Lower-case hex of the algorithm's hash over `data`.
std::string digestHex(DigestAlgorithm a, std::string_view data);
// HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2).
std::string digestHa1(DigestAlgorithm a, std::string_view user, std::string_view realm, std::string_view password);

// The parameters of one `Authorization: Digest ...` header, unquoted.
struct DigestCredentials {
  std::string username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque;
};
// Takes the header's parameters as Sofia keeps them ("name=value", the value
// possibly quoted). Unknown parameters are ignored (RFC 7616 §3.4).
DigestCredentials parseDigestParams(const std::vector<std::string_view>& params);

// One Authorization (RFC 3261 §22.2) or Proxy-Authorization (§22.3) header as
// the registrar checks it.
struct DigestAuthorization {
  DigestCredentials creds;
  bool uriMatches = false;  // the digest uri names the Request-URI (RFC 7616 §3.4.6)
};

// response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri))
// for qop=auth (RFC 7616 §3.4.1, §3.4.3).
std::string digestResponse(DigestAlgorithm a, std::string_view ha1, std::string_view method, const DigestCredentials& c);

// Compares without an early exit, so the time does not tell how much matched.
bool constantTimeEqual(std::string_view a, std::string_view b);

}  // namespace sb::sip
