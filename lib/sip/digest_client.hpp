#pragma once
// The client side of HTTP digest for SIP (RFC 3261 §22.2, RFC 7616 §3.4,
// RFC 8760): reads a 401/407's challenges and writes the Authorization or
// Proxy-Authorization value that answers one. Pure (no Sofia), so the
// arithmetic is unit-tested on its own; trunk_auth.hpp adapts it to nta.
//
// Why not Sofia's auth_client (auc_challenge / auc_authorization): Debian's
// 1.12.11 computes MD5 only (auth_digest.h has no SHA-256), while carriers and
// PBXs increasingly challenge with SHA-256 (RFC 8760). The hashes are
// seatbridge's own (digest.hpp, shared with the registrar).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/digest.hpp"

namespace sb::sip {

struct DigestChallenge {
  bool proxy = false;  // Proxy-Authenticate (407) rather than WWW-Authenticate (401)
  std::string realm, nonce, opaque, qop;
  std::string algorithmName;  // as sent ("" when absent: MD5, RFC 7616 §3.3)
  DigestAlgorithm algorithm = DigestAlgorithm::md5;
  bool stale = false;  // the nonce expired; the credentials were right (RFC 7616 §3.3)
};

// One challenge from its scheme and parameters (as Sofia keeps them,
// "name=value" with the value possibly quoted). nullopt for a scheme other
// than Digest, a challenge without a nonce, an algorithm we cannot
// compute (the -sess variants, unknown names), or a qop list that offers
// neither "auth" nor nothing (auth-int only: we do not hash bodies).
std::optional<DigestChallenge> parseDigestChallenge(std::string_view scheme,
                                                    const std::vector<std::string_view>& params, bool proxy);

// The header value that answers `c` for a request `method` to `uri` (the
// Request-URI as sent): `Digest username="..", realm="..", nonce="..",
// uri="..", response="..", algorithm=.., cnonce="..", opaque="..", qop=auth,
// nc=..`. With qop=auth (RFC 7616 §3.4.1) `nc` counts the uses of this nonce
// (1 for the first) and `cnonce` is the caller's fresh random string; without
// a qop in the challenge the RFC 2069 form (no cnonce, no nc) is used.
std::string digestAuthorization(const DigestChallenge& c, std::string_view username, std::string_view password,
                                std::string_view method, std::string_view uri, uint32_t nc, std::string_view cnonce);

}  // namespace sb::sip
