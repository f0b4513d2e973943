// The registrar's side of a call a desk phone places: who may, and digest
// authentication of the INVITE (RFC 3261 §22.3) with REGISTER's nonces,
// credentials, failure count and ban (registrar.cpp).
#include "sip/registrar.hpp"

namespace sb::sip {
namespace {

CallReply refuse(int status, const char* phrase, const char* reason) {
  CallReply r;
  r.outcome = CallReply::Outcome::refuse;
  r.status = status;
  r.phrase = phrase;
  r.refusal = reason;
  return r;
}

// What makes an authenticated INVITE this very request, for the nonce-count's
// retransmission check (see fingerprint() in registrar.cpp): qop=auth signs
// neither the headers nor the body (RFC 7616 §3.4.3), so a captured INVITE resent
// with another target, another caller or another SDP under the same nc must not
// pass as a retransmission (RFC 3261 §17.2.3: those repeat all of it).
std::string inviteText(const CallRequest& r) {
  return "INVITE\n" + r.callId + '\n' + std::to_string(r.cseq) + '\n' + r.source + '\n' + r.requestUri + '\n' +
         r.toUri + '\n' + r.fromUser + '\n' + r.body;
}

}  // namespace

// Who is challenged. The issue's rule is by source: "an INVITE from a source that
// is neither a trunk nor a registered extension gets 403; one from a registered
// extension is challenged". A source is a registered extension's when one of the
// current bindings was registered from its address (any port and transport: a
// phone may open a new TCP connection, or send a large INVITE over TCP after
// registering over UDP, RFC 3261 §18.1.1). From is not consulted for this: were
// an extension's From challenged from anywhere and another refused, INVITE would
// tell a scanner which extensions exist, which REGISTER never does (§22.4). From
// any bound address, every From gets the same challenge (an unknown user's looks
// like a password extension's, see CredentialBook) and then fails.
CallReply Registrar::authorizeCall(const CallRequest& r, Now now) {
  if (guard_.banned(r.sourceIp, now.monoMs)) {
    CallReply d;
    d.outcome = CallReply::Outcome::drop;
    return d;
  }
  // RFC 3261 §21.4.4: no phone registered from there; not a trunk either.
  if (r.sourceIp.empty() || !boundSource(r.sourceIp, now.wallMs)) return refuse(403, "Forbidden", "untrustedSource");
  // The same client key as REGISTER's, so that an MD5-only phone marked there
  // gets MD5 alone here too (algorithm_hints.hpp). Only REGISTER marks clients.
  const std::string client = r.fromUser + '|' + r.sourceIp;
  std::string user;
  const AuthResult auth = authenticate(r.authorizations, "INVITE", inviteText(r), now.monoMs, user);
  if (auth != AuthResult::challenge) hints_.answered(client);
  switch (auth) {
    case AuthResult::challenge:
      return callChallenge(r.fromUser, false, now.monoMs, hints_.wantsMd5Only(client, now.monoMs));
    case AuthResult::stale:  // RFC 7616 §3.3: the same credentials with a fresh nonce will do
      return callChallenge(r.fromUser, true, now.monoMs, false);
    case AuthResult::failure: {
      failed(r.sourceIp, now.monoMs);
      CallReply again = callChallenge(r.fromUser, false, now.monoMs, false);
      again.authFailure = true;
      return again;
    }
    case AuthResult::ok:
    case AuthResult::retransmission: break;
  }
  // Credentials prove who sent the request; the caller it names must be that one.
  if (user != r.fromUser) return refuse(403, "Forbidden", "callerMismatch");
  CallReply ok;
  ok.outcome = CallReply::Outcome::authenticated;
  ok.extension = user;
  return ok;
}

// RFC 3261 §22.3: a B2BUA that authenticates like a proxy answers 407 with
// Proxy-Authenticate (§20.28); the phone answers with Proxy-Authorization (§20.27).
CallReply Registrar::callChallenge(const std::string& user, bool stale, int64_t monoMs, bool md5Only) {
  CallReply ch;
  ch.challenges = challenges(user, stale, monoMs, md5Only);
  // An extension with no secret for any algorithm offered (ha1 only, MD5 not
  // offered) cannot prove anything: refused as REGISTER is.
  if (ch.challenges.empty()) return refuse(403, "Forbidden", "untrustedSource");
  ch.outcome = CallReply::Outcome::challenge;
  ch.status = 407;
  ch.phrase = "Proxy Authentication Required";
  return ch;
}

bool Registrar::boundSource(const std::string& ip, int64_t wallMs) {
  if (boundIpsStale_) {
    boundIps_.clear();
    for (const auto& ext : table_.extensions())
      for (const auto& b : table_.list(ext, wallMs)) boundIps_.insert(sourceHost(b.source));
    boundIpsStale_ = false;
  }
  return boundIps_.count(ip) != 0;
}

}  // namespace sb::sip
