#include "sip/registrar.hpp"

#include <strings.h>

#include <algorithm>
#include <set>

#include "common/log.hpp"

namespace sb::sip {
namespace {

std::vector<DigestAlgorithm> algorithmsOf(const config::Config& cfg) {
  std::vector<DigestAlgorithm> out;
  for (const auto& name : cfg.security.digestAlgorithms)
    if (auto a = parseDigestAlgorithm(name)) out.push_back(*a);
  return out;
}

bool sameHost(const std::string& a, const std::string& b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// What makes an authenticated REGISTER this very request: a retransmission
// (RFC 3261 §17.1.2.2) repeats all of it. It covers everything the registrar acts
// on, because qop=auth does not sign the headers (RFC 7616 §3.4.3): were Contact
// or Expires left out, a captured request resent with another Contact and the same
// nc would pass as a retransmission and bind the attacker's address.
std::string registerText(const RegisterRequest& r) {
  std::string text = "REGISTER\n" + r.callId + '\n' + std::to_string(r.cseq) + '\n' + r.source + '\n' +
                     (r.wildcard ? "*" : "") + '\n' + (r.expiresHeader ? std::to_string(*r.expiresHeader) : "-");
  for (const auto& contact : r.contacts)
    text += '\n' + contact.uri + ';' + (contact.expires ? std::to_string(*contact.expires) : "-");
  return text;
}

// SHA-256, not std::hash, so that a second request with the same fingerprint
// cannot be crafted. The method leads `request`, so requests of two methods never
// share one.
uint64_t fingerprint(const DigestCredentials& c, const std::string& request) {
  const std::string hex =
      digestHex(DigestAlgorithm::sha256, c.nc + '\n' + c.cnonce + '\n' + c.response + '\n' + request);
  return std::stoull(hex.substr(0, 16), nullptr, 16);
}

}  // namespace

std::string sourceHost(std::string_view source) {
  const size_t colon = source.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view hostPort = source.substr(colon + 1);
  if (!hostPort.empty() && hostPort.front() == '[') {
    const size_t close = hostPort.find(']');
    return close == std::string_view::npos ? std::string() : std::string(hostPort.substr(1, close - 1));
  }
  return std::string(hostPort.substr(0, hostPort.rfind(':')));
}

RegisterReply makeReply(int status, const char* phrase) {
  RegisterReply r;
  r.status = status;
  r.phrase = phrase;
  return r;
}

Registrar::Registrar(const config::Config& cfg)
    : realm_(cfg.sip.domain),
      limits_(cfg.registrar),
      security_(cfg.security),
      algorithms_(algorithmsOf(cfg)),
      credentials_(cfg.extensions, cfg.sip.domain),
      nonces_(kNonceLifetimeMs),
      guard_(cfg.security.maxAuthFailures, cfg.security.banSeconds * 1000LL),
      rate_(kRatePerSecond, kRateBurst) {}

void Registrar::configure(const config::Config& cfg, Now now) {
  realm_ = cfg.sip.domain;
  limits_ = cfg.registrar;
  security_ = cfg.security;
  algorithms_ = algorithmsOf(cfg);
  credentials_ = CredentialBook(cfg.extensions, cfg.sip.domain);
  guard_.configure(cfg.security.maxAuthFailures, cfg.security.banSeconds * 1000LL);
  std::set<std::string> ids;
  for (const auto& e : cfg.extensions) ids.insert(e.id);
  counts_.retainOnly(ids);  // nonce-counts stay bounded by the configured extensions
  boundIpsStale_ = true;
  for (const auto& ext : table_.retainOnly(ids)) {
    SB_INFO("registrar", "extension %s is no longer configured: its bindings are dropped", ext.c_str());
    emit(core::ExtensionUnregistered{ext, "unregistered"});
  }
  (void)now;
}

RegisterReply Registrar::handle(const RegisterRequest& r, Now now) {
  if (guard_.banned(r.sourceIp, now.monoMs)) {
    RegisterReply d;
    d.drop = true;
    return d;
  }
  if (!r.malformed.empty()) {
    RegisterReply bad = makeReply(400, "Bad Request");
    bad.malformedReason = r.malformed;
    return bad;
  }
  if (!rate_.allow(r.toUser + '|' + r.sourceIp, now.monoMs)) {
    // A looping phone: tell it to back off (RFC 3261 §21.5.4) before any digest work.
    RegisterReply busy = makeReply(503, "Too Many Registrations");
    busy.retryAfter = 5;
    return busy;
  }
  // §10.3 step 1 accepts any Request-URI host: we are the registrar for whatever
  // name the phone was given. Step 5: the AOR's host must be ours or that name.
  if (!sameHost(r.toHost, realm_) && !sameHost(r.toHost, r.requestHost)) return makeReply(404, "Not Found");
  if (!r.require.empty()) {
    // §10.3 step 2 (§8.2.2.3): no extension is supported.
    RegisterReply ext = makeReply(420, "Bad Extension");
    ext.unsupported = r.require;
    return ext;
  }
  std::string user;
  const std::string client = r.toUser + '|' + r.sourceIp;
  const AuthResult auth = authenticate(r.authorizations, "REGISTER", registerText(r), now.monoMs, user);
  if (auth != AuthResult::challenge) hints_.answered(client);  // it sent credentials: it copes
  switch (auth) {
    case AuthResult::challenge: {
      const bool md5Only = hints_.wantsMd5Only(client, now.monoMs);
      RegisterReply ch = challenge(r.toUser, false, now.monoMs, md5Only);
      if (!md5Only && ch.challenges.size() > 1) hints_.challenged(client, now.monoMs);
      return ch;
    }
    case AuthResult::stale: return challenge(r.toUser, true, now.monoMs);
    case AuthResult::failure: return fail(r, now);
    case AuthResult::ok:
    case AuthResult::retransmission: break;
  }
  // §10.3 step 4: only the extension itself may change its bindings.
  if (user != r.toUser) return makeReply(403, "Forbidden");
  // A retransmission (RFC 3261 §17.1.2.2) gets the answer again, not a second
  // application: its change took effect the first time, and re-applying it later
  // would undo whatever the phone did since (a captured REGISTER replayed after the
  // phone unregistered would bind it again, RFC 7616 §3.3).
  return bind(r, now, auth == AuthResult::ok);
}

// §22.4 / RFC 7616 §3.4: a failure of any kind costs the same work and gets the
// same answer as a plain challenge, whether the user exists or not.
Registrar::AuthResult Registrar::authenticate(const std::vector<DigestAuthorization>& auths, std::string_view method,
                                              const std::string& request, int64_t monoMs, std::string& user) {
  const DigestAuthorization* a = nullptr;
  for (const auto& x : auths)
    if (x.creds.realm == realm_) {
      a = &x;
      break;
    }
  if (!a || algorithms_.empty()) return AuthResult::challenge;
  const DigestCredentials& c = a->creds;
  const auto alg = parseDigestAlgorithm(c.algorithm.empty() ? "MD5" : c.algorithm);  // RFC 7616 §3.4: default MD5
  const bool offered = alg && std::find(algorithms_.begin(), algorithms_.end(), *alg) != algorithms_.end() &&
                       credentials_.supports(c.username, *alg);
  const DigestAlgorithm use = alg.value_or(algorithms_.front());
  const auto nonce = nonces_.check(c.nonce, monoMs);
  const auto nc = parseNonceCount(c.nc);
  const bool match = constantTimeEqual(digestResponse(use, credentials_.ha1(c.username, use), method, c), c.response);
  const bool ok = match && offered && credentials_.known(c.username) && c.qop == "auth" && nc && !c.cnonce.empty() &&
                  a->uriMatches;
  if (!ok) return AuthResult::failure;
  // The response is right, so the sender knows the secret; only the nonce is not
  // one to accept: past its lifetime, or not ours - above all one issued before
  // a restart (another secret), which phones reuse on their next request. RFC
  // 7616 §3.3: stale=true and a fresh nonce, and no failure toward a ban: were
  // it one, a restart would count one per phone and ban offices whose phones
  // share an address.
  if (nonce.verdict != NonceService::Verdict::valid) return AuthResult::stale;
  // Per extension: `ok` above requires a configured user, so unknown names never
  // get an entry, and other phones' traffic cannot evict this one's nonces. The
  // nonce is valid here (any other returned stale), as NonceCounter::use requires.
  user = c.username;
  // REGISTER and INVITE share the counts: a phone may use one nonce for both,
  // and nc then counts its requests of either (RFC 7616 §3.4).
  switch (counts_.use(c.username, c.nonce, *nc, fingerprint(c, request))) {
    case NonceCounter::Verdict::fresh: return AuthResult::ok;
    case NonceCounter::Verdict::retransmission: return AuthResult::retransmission;
    case NonceCounter::Verdict::replay:
    case NonceCounter::Verdict::untracked: break;
  }
  return AuthResult::stale;  // RFC 7616 §3.3: a replay or an untracked count needs a fresh nonce
}

std::vector<std::string> Registrar::challenges(const std::string& user, bool stale, int64_t monoMs, bool md5Only) {
  std::vector<std::string> out;
  std::vector<DigestAlgorithm> order = algorithms_;
  const bool md5Offered = std::find(algorithms_.begin(), algorithms_.end(), DigestAlgorithm::md5) != algorithms_.end();
  if (md5Only && md5Offered) order = {DigestAlgorithm::md5};  // see algorithm_hints.hpp
  const std::string nonce = nonces_.issue(monoMs);
  // RFC 8760 §2.4: one challenge per algorithm, the preferred first, all with one
  // nonce. When MD5 is offered too, the other algorithms are written with spaces
  // around '=' (RFC 3261 §25.1: EQUAL = SWS "=" SWS): a proper parser reads them
  // alike, while an MD5-only client that searches the raw text for the first
  // "algorithm=" (SIPp 3.6 does) lands on the MD5 challenge instead of giving up.
  for (auto a : order) {
    if (!credentials_.supports(user, a)) continue;
    const char* eq = (md5Offered && a != DigestAlgorithm::md5) ? "algorithm = " : "algorithm=";
    std::string v = "Digest realm=\"" + realm_ + "\", nonce=\"" + nonce + "\", " + eq + digestAlgorithmName(a) +
                    ", qop=\"auth\"";
    if (stale) v += ", stale=true";
    out.push_back(std::move(v));
  }
  return out;
}

RegisterReply Registrar::challenge(const std::string& user, bool stale, int64_t monoMs, bool md5Only) {
  RegisterReply ch = makeReply(401, "Unauthorized");
  ch.challenges = challenges(user, stale, monoMs, md5Only);
  if (ch.challenges.empty()) return makeReply(403, "Forbidden");  // e.g. ha1 only, MD5 not offered
  return ch;
}

void Registrar::failed(const std::string& ip, int64_t monoMs) {
  if (guard_.fail(ip, monoMs))
    SB_WARN("registrar", "banning %s for %d s after %d failed authentications; its requests are dropped",
            ip.c_str(), security_.banSeconds, security_.maxAuthFailures);
}

RegisterReply Registrar::fail(const RegisterRequest& r, Now now) {
  failed(r.sourceIp, now.monoMs);
  RegisterReply reply = challenge(r.toUser, false, now.monoMs);
  reply.authFailure = true;
  return reply;
}

// §10.3 step 6: each contact's expiry from its expires parameter, else the
// Expires header, else registrar.defaultExpires; too brief is 423, too long is
// clamped to registrar.maxExpires.
std::optional<RegisterReply> Registrar::decideExpiries(const RegisterRequest& r, BindingUpdate& u) const {
  if (r.wildcard) {
    if (!r.contacts.empty() || !r.expiresHeader || *r.expiresHeader != 0) {
      RegisterReply bad = makeReply(400, "Bad Request");
      bad.phrase = "Contact * Needs Expires 0 Alone";
      bad.malformedReason = "wildcard";
      return bad;
    }
    u.wildcard = true;
    return std::nullopt;
  }
  for (const auto& c : r.contacts) {
    int64_t e = c.expires ? *c.expires : r.expiresHeader ? *r.expiresHeader : limits_.defaultExpires;
    if (e > 0 && e < limits_.minExpires) {
      RegisterReply brief = makeReply(423, "Interval Too Brief");
      brief.minExpires = limits_.minExpires;
      return brief;
    }
    e = std::min<int64_t>(e, limits_.maxExpires);
    u.contacts.push_back({c.key, c.uri, e});
  }
  return std::nullopt;
}

RegisterReply Registrar::bind(const RegisterRequest& r, Now now, bool apply) {
  BindingUpdate u;
  u.extension = r.toUser;
  u.callId = r.callId;
  u.cseq = r.cseq;
  u.source = r.source;
  u.userAgent = r.userAgent;
  if (auto early = decideExpiries(r, u)) return *early;
  const bool query = (!u.wildcard && u.contacts.empty()) || !apply;
  if (!query) {
    const UpdateResult res = table_.apply(u, now.wallMs, static_cast<size_t>(limits_.maxContacts));
    // §10.3 step 7: an older CSeq on the same Call-ID aborts the whole request.
    if (res.status == UpdateResult::Status::outOfOrder) return makeReply(500, "CSeq Out of Order");
    if (res.status == UpdateResult::Status::tooManyContacts) return makeReply(403, "Too Many Contacts");
    if (res.changed) {
      // boundSource(): a new or refreshed binding adds its address at once;
      // a removal makes the set stale, rebuilt at the next query.
      bool removed = u.wildcard || !res.displaced.empty();
      for (const auto& c : u.contacts) removed = removed || c.expiresSeconds == 0;
      if (removed)
        boundIpsStale_ = true;
      else if (!boundIpsStale_)
        boundIps_.insert(sourceHost(u.source));
    }
    for (const auto& d : res.displaced)
      SB_INFO("registrar", "extension %s: contact %s gave way to a newer one (maxContacts %d)", r.toUser.c_str(),
              d.uri.c_str(), limits_.maxContacts);
    if (res.changed) report(r.toUser, res.hadBindings, now.wallMs, "unregistered");
  }
  // §10.3 step 8: every current binding, with the seconds it has left.
  RegisterReply ok = makeReply(200, "OK");
  for (const auto& b : table_.list(r.toUser, now.wallMs))
    ok.contacts.push_back({b.uri, std::max<int64_t>(1, (b.expiresAtMs - now.wallMs + 999) / 1000)});
  return ok;
}

std::vector<core::ContactInfo> Registrar::contacts(const std::string& extension, int64_t wallMs) const {
  std::vector<core::ContactInfo> out;
  for (const auto& b : table_.list(extension, wallMs))
    out.push_back({b.uri, b.source, b.userAgent, b.expiresAtMs, b.reachable});
  return out;
}

void Registrar::report(const std::string& extension, bool hadBindings, int64_t wallMs, const char* reason) {
  auto now = contacts(extension, wallMs);
  if (!now.empty())
    emit(core::ExtensionRegistered{extension, std::move(now)});
  else if (hadBindings)
    emit(core::ExtensionUnregistered{extension, reason});
}

void Registrar::emit(const core::DeviceFact& f) {
  if (!sink_) return;
  try {
    sink_(f);
  } catch (const std::exception& e) {
    SB_ERROR("registrar", "the device-fact sink failed: %s", e.what());
  }
}

void Registrar::setFactSink(FactSink sink, Now now) {
  sink_ = std::move(sink);
  for (const auto& ext : table_.extensions()) report(ext, false, now.wallMs, "unregistered");
}

std::vector<Probe> Registrar::tick(Now now) {
  for (const auto& ext : table_.expire(now.wallMs)) {
    SB_INFO("registrar", "extension %s: last binding expired", ext.c_str());
    emit(core::ExtensionUnregistered{ext, "expired"});
  }
  for (const auto& l : guard_.sweep(now.monoMs))
    SB_INFO("registrar", "ban on %s lifted (%llu requests dropped meanwhile)", l.ip.c_str(),
            static_cast<unsigned long long>(l.dropped));
  if (now.monoMs - lastSweepMs_ >= 10'000) {
    lastSweepMs_ = now.monoMs;
    boundIpsStale_ = true;  // expiries and moved bindings since the last sweep
    rate_.sweep(now.monoMs);
    hints_.sweep(now.monoMs);
    counts_.forgetBefore(now.monoMs - kNonceLifetimeMs);
  }
  std::vector<Probe> probes;
  if (limits_.keepaliveSeconds <= 0) return probes;
  std::vector<ReachabilityChange> changes;
  probes = table_.dueProbes(now.wallMs, limits_.keepaliveSeconds * 1000LL, kKeepaliveMisses, changes);
  for (const auto& c : changes) {
    SB_WARN("registrar", "extension %s: contact %s missed %d keepalives: unreachable", c.extension.c_str(),
            c.uri.c_str(), kKeepaliveMisses);
    emit(core::ExtensionReachability{c.extension, c.uri, false, c.anyReachable});
  }
  return probes;
}

void Registrar::keepaliveAnswered(std::string_view tag) {
  const auto probe = parseKeepaliveTag(tag);
  if (!probe) return;
  if (auto c = table_.answered(probe->first, probe->second)) {
    SB_INFO("registrar", "extension %s: contact %s answers again", c->extension.c_str(), c->uri.c_str());
    emit(core::ExtensionReachability{c->extension, c->uri, true, true});
  }
}

}  // namespace sb::sip
