#pragma once
// A trunk's credentials (trunks[].register {username, password}) answering the
// trunk's digest challenges on requests seatbridge sends it: its REGISTERs
// (trunk_registration.hpp) and the INVITE, BYE, re-INVITE and INFO of a call
// leg through it (call_legs*.cpp). One TrunkAuth follows one request and the
// ones re-sent for it (RFC 3261 §22.2: the same Call-ID, From tag and
// Request-URI, CSeq one higher, a new branch), and remembers the challenges it
// answered so a later request of the same binding can repeat them (§22.3).
//
// The rule against looping on wrong credentials: a realm is answered once per
// request; a second challenge for a realm we already answered means the
// credentials were refused, and the request fails with that status, unless the
// challenge says stale=true (the nonce expired, the password was right: RFC
// 7616 §3.3), which is answered once more. Several challenges in one response
// (several proxies, or one realm offered in several algorithms) are answered
// one per realm with the topmost we can compute (RFC 8760 §2.4).
#include <sofia-sip/sip.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sip/digest_client.hpp"

namespace sb::sip {

class TrunkAuth {
 public:
  TrunkAuth() = default;  // no credentials: never answers
  TrunkAuth(std::string username, std::string password);
  // The trunk's register credentials; empty (never answers) without a username.
  static TrunkAuth forTrunk(const config::Trunk& trunk);

  bool hasCredentials() const { return !username_.empty(); }

  // The header lines ("Proxy-Authorization: Digest ...", CRLF-separated, for
  // SIPTAG_HEADER_STR) answering the challenges of `response`, a 401 or 407 to
  // a request `method` sent to `uri` (its Request-URI); nullopt when the
  // request must not be re-sent: no credentials, no challenge we can answer,
  // or a realm refused again (see above).
  std::optional<std::string> answer(const sip_t* response, const char* method, const std::string& uri);
  // The lines sent with the last (re-)sent request: the ACK of a 2xx repeats
  // the INVITE's credentials (RFC 3261 §13.2.2.4).
  const std::string& lines() const { return lines_; }
  // For the next request of the same binding (a REGISTER refresh): the
  // challenges answered so far, answered again with the next nonce count
  // (RFC 3261 §22.3, RFC 7616 §3.4); "" when there are none. Starts a new
  // request: realms answered before may be answered once more.
  std::string again(const char* method, const std::string& uri);
  // A new request that carries no credentials up front.
  void restart();

 private:
  struct Answered {
    DigestChallenge challenge;
    uint32_t nc = 0;  // uses of challenge.nonce so far
    bool inThisRequest = false;
    bool staleRetried = false;
  };
  std::string render(const char* method, const std::string& uri);

  std::string username_, password_;
  std::vector<Answered> answered_;  // one per (proxy, realm)
  std::string lines_;
  int rounds_ = 0;  // challenges answered for the current request
};

}  // namespace sb::sip
