#include "sip/digest_client.hpp"

#include <strings.h>

#include <cctype>
#include <cstdio>

namespace sb::sip {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// RFC 3261 §25.1 quoted-string: strip the quotes and the quoted-pair escapes.
std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) ++i;
    out.push_back(v[i]);
  }
  return out;
}

// The reverse: a quoted-string whose content is `v`.
std::string quote(std::string_view v) {
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

// Whether the qop-options list ("auth", "auth,auth-int", ...) offers `want`.
bool offers(std::string_view list, std::string_view want) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), want)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<DigestChallenge> parseDigestChallenge(std::string_view scheme,
                                                    const std::vector<std::string_view>& params, bool proxy) {
  if (!iequals(trim(scheme), "Digest")) return std::nullopt;
  DigestChallenge c;
  c.proxy = proxy;
  for (std::string_view p : params) {
    const size_t eq = p.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = trim(p.substr(0, eq));
    std::string value = unquote(p.substr(eq + 1));
    if (iequals(name, "realm"))
      c.realm = std::move(value);
    else if (iequals(name, "nonce"))
      c.nonce = std::move(value);
    else if (iequals(name, "opaque"))
      c.opaque = std::move(value);
    else if (iequals(name, "qop"))
      c.qop = std::move(value);
    else if (iequals(name, "algorithm"))
      c.algorithmName = std::move(value);
    else if (iequals(name, "stale"))
      c.stale = iequals(value, "true");
    // domain, charset, userhash: not needed to answer (RFC 7616 §3.3); userhash
    // is optional for the client to honour.
  }
  // realm may be empty (realm="" is seen in the wild); a nonce is what we answer.
  if (c.nonce.empty()) return std::nullopt;
  if (!c.algorithmName.empty()) {
    const auto a = parseDigestAlgorithm(c.algorithmName);
    if (!a) return std::nullopt;
    c.algorithm = *a;
  }
  if (!c.qop.empty()) {
    if (!offers(c.qop, "auth")) return std::nullopt;  // auth-int alone: we do not hash bodies
    c.qop = "auth";
  }
  return c;
}

std::string digestAuthorization(const DigestChallenge& c, std::string_view username, std::string_view password,
                                std::string_view method, std::string_view uri, uint32_t nc, std::string_view cnonce) {
  const std::string ha1 = digestHa1(c.algorithm, username, c.realm, password);
  std::string response;
  char ncHex[9] = "00000001";
  if (!c.qop.empty()) {
    std::snprintf(ncHex, sizeof ncHex, "%08x", nc);
    DigestCredentials creds;
    creds.nonce = c.nonce;
    creds.uri = std::string(uri);
    creds.nc = ncHex;
    creds.cnonce = std::string(cnonce);
    creds.qop = c.qop;
    response = digestResponse(c.algorithm, ha1, method, creds);
  } else {
    // RFC 2069 (kept by RFC 2617 §3.2.2.1 and RFC 3261 §22.4 for old servers):
    // response = H(HA1 ":" nonce ":" H(method ":" uri)).
    std::string a2;
    a2.append(method).append(":").append(uri);
    response = digestHex(c.algorithm, ha1 + ":" + c.nonce + ":" + digestHex(c.algorithm, a2));
  }
  std::string out = "Digest username=" + quote(username) + ", realm=" + quote(c.realm) + ", nonce=" + quote(c.nonce) +
                    ", uri=" + quote(uri) + ", response=" + quote(response);
  // Echo the algorithm as the challenge named it (RFC 7616 §3.4); MD5 when it named none.
  out += ", algorithm=" + (c.algorithmName.empty() ? std::string("MD5") : c.algorithmName);
  if (!c.opaque.empty()) out += ", opaque=" + quote(c.opaque);
  if (!c.qop.empty()) out += ", qop=" + c.qop + ", nc=" + ncHex + ", cnonce=" + quote(cnonce);
  return out;
}

}  // namespace sb::sip
