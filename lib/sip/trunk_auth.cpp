#include "sip/trunk_auth.hpp"

#include <sofia-sip/sip_header.h>

#include "common/ids.hpp"

namespace sb::sip {
namespace {

// Enough for a proxy and a registrar each asking once, and a stale nonce on
// top; a response that keeps challenging beyond it is a loop, whatever it says.
constexpr int kMaxRounds = 4;

std::vector<DigestChallenge> challengesOf(const sip_t* sip) {
  std::vector<DigestChallenge> out;
  const auto read = [&](const msg_auth_t* h, bool proxy) {
    for (; h; h = h->au_next) {
      std::vector<std::string_view> params;
      for (const msg_param_t* p = h->au_params; p && *p; ++p) params.emplace_back(*p);
      auto c = parseDigestChallenge(h->au_scheme ? h->au_scheme : "", params, proxy);
      if (!c) continue;
      // RFC 8760 §2.4: of several challenges for one realm, the topmost we support.
      bool seen = false;
      for (const auto& o : out) seen = seen || (o.proxy == c->proxy && o.realm == c->realm);
      if (!seen) out.push_back(std::move(*c));
    }
  };
  read(sip->sip_www_authenticate, false);
  read(sip->sip_proxy_authenticate, true);
  return out;
}

}  // namespace

TrunkAuth::TrunkAuth(std::string username, std::string password)
    : username_(std::move(username)), password_(std::move(password)) {}

TrunkAuth TrunkAuth::forTrunk(const config::Trunk& trunk) {
  if (!trunk.registration || trunk.registration->username.empty()) return {};
  return TrunkAuth(trunk.registration->username, trunk.registration->password);
}

void TrunkAuth::restart() {
  rounds_ = 0;
  lines_.clear();
  for (auto& a : answered_) a.inThisRequest = a.staleRetried = false;
}

std::optional<std::string> TrunkAuth::answer(const sip_t* response, const char* method, const std::string& uri) {
  if (!hasCredentials() || !response || ++rounds_ > kMaxRounds) return std::nullopt;
  const std::vector<DigestChallenge> challenges = challengesOf(response);
  if (challenges.empty()) return std::nullopt;  // nothing we can compute: the request fails as answered
  for (const auto& c : challenges) {
    Answered* slot = nullptr;
    for (auto& a : answered_)
      if (a.challenge.proxy == c.proxy && a.challenge.realm == c.realm) slot = &a;
    if (slot && slot->inThisRequest) {
      // Answered already for this request: refused, unless only the nonce aged.
      if (!c.stale || slot->staleRetried) return std::nullopt;
      slot->staleRetried = true;
    }
    if (!slot) slot = &answered_.emplace_back();
    if (slot->challenge.nonce != c.nonce) slot->nc = 0;
    slot->challenge = c;
    slot->inThisRequest = true;
  }
  lines_ = render(method, uri);
  return lines_;
}

std::string TrunkAuth::again(const char* method, const std::string& uri) {
  restart();
  if (!hasCredentials() || answered_.empty()) return {};
  lines_ = render(method, uri);
  return lines_;
}

std::string TrunkAuth::render(const char* method, const std::string& uri) {
  // Every realm answered so far goes in (a second proxy's challenge does not
  // make the first one's credentials unnecessary).
  std::string out;
  for (auto& a : answered_) {
    if (!out.empty()) out += "\r\n";
    out += a.challenge.proxy ? "Proxy-Authorization: " : "Authorization: ";
    out += digestAuthorization(a.challenge, username_, password_, method, uri, ++a.nc, randomHex(8));
  }
  return out;
}

}  // namespace sb::sip
