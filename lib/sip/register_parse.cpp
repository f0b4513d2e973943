#include "sip/register_parse.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

#include <cctype>
#include <cstring>

#include "sip/sofia.hpp"

namespace sb::sip {
namespace {

constexpr size_t kMaxField = 256;

std::string lower(const char* s) {
  std::string out = s ? s : "";
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// delta-seconds (RFC 3261 §25.1); values past 2^32-1 saturate.
bool parseDelta(const char* s, int64_t& out) {
  if (!s || !*s) return false;
  int64_t v = 0;
  for (const char* p = s; *p; ++p) {
    if (!std::isdigit(static_cast<unsigned char>(*p))) return false;
    v = std::min<int64_t>(v * 10 + (*p - '0'), 4294967295LL);
  }
  out = v;
  return true;
}

std::string urlString(su_home_t* home, const url_t* u) {
  char* s = url_as_string(home, u);
  std::string out = s ? s : "";
  su_free(home, s);
  return out;
}

// Authorization (REGISTER) or Proxy-Authorization (INVITE) headers.
void parseAuthorizations(const sip_t* sip, const msg_auth_t* headers, std::vector<DigestAuthorization>& out,
                         Home& home) {
  for (const msg_auth_t* au = headers; au; au = au->au_next) {
    if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0) continue;
    std::vector<std::string_view> params;
    for (const msg_param_t* p = au->au_params; p && *p; ++p) params.emplace_back(*p);
    DigestAuthorization a;
    a.creds = parseDigestParams(params);
    // RFC 7616 §3.4.6 / RFC 3261 §22.4: the digest-uri must name the Request-URI.
    url_t* du = a.creds.uri.empty() ? nullptr : url_make(home.get(), a.creds.uri.c_str());
    a.uriMatches = du && du->url_type != url_invalid && url_cmp_all(du, sip->sip_request->rq_url) == 0;
    out.push_back(std::move(a));
  }
}

const char* parseContacts(const sip_t* sip, RegisterRequest& r, Home& home) {
  for (const sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    if (m->m_url->url_type == url_any) {  // "*"
      if (r.wildcard) return "wildcard";
      r.wildcard = true;
      continue;
    }
    if ((m->m_url->url_type != url_sip && m->m_url->url_type != url_sips) || !m->m_url->url_host)
      return "contact_uri";
    RegisterRequest::Contact c;
    c.uri = urlString(home.get(), m->m_url);
    c.key = contactKey(m->m_url);
    if (c.uri.size() > 4 * kMaxField) return "contact_uri";
    if (m->m_expires) {
      int64_t e = 0;
      if (!parseDelta(m->m_expires, e)) return "contact_expires";
      c.expires = e;
    }
    r.contacts.push_back(std::move(c));
  }
  return nullptr;
}

const char* checkBasics(const sip_t* sip) {
  if (sip->sip_error) return "bad_header";
  if (!sip->sip_to || !sip->sip_to->a_url->url_user || !*sip->sip_to->a_url->url_user) return "to_user";
  if (!sip->sip_to->a_url->url_host) return "to_host";
  if (std::strlen(sip->sip_to->a_url->url_user) > kMaxField) return "to_user";
  if (!sip->sip_cseq || sip->sip_cseq->cs_method != sip_method_register) return "cseq";
  if (!sip->sip_call_id || !sip->sip_call_id->i_id) return "call_id";
  return nullptr;
}

}  // namespace

std::string contactKey(const url_t* u) {
  std::string k = lower(u->url_scheme ? u->url_scheme : (u->url_type == url_sips ? "sips" : "sip"));
  k += ':';
  if (u->url_user) k.append(u->url_user).append("@");
  k += lower(u->url_host);
  if (u->url_port && *u->url_port) k.append(":").append(u->url_port);
  char transport[32] = "";
  if (u->url_params && url_param(u->url_params, "transport", transport, sizeof transport) > 0)
    k.append(";transport=").append(lower(transport));
  return k;
}

std::string routeForSource(const std::string& source) {
  const size_t colon = source.find(':');
  if (colon == std::string::npos) return {};
  return "sip:" + source.substr(colon + 1) + ";transport=" + source.substr(0, colon);
}

bool messageSource(msg_t* msg, std::string& source, std::string& ip) {
  const su_addrinfo_t* ai = msg_addrinfo(msg);
  if (!ai || !ai->ai_addr) return false;
  // inet_ntop rather than getnameinfo(NI_NUMERICHOST): the same text without the
  // resolver's machinery, on a path every REGISTER takes.
  char host[INET6_ADDRSTRLEN];
  unsigned port = 0;
  bool v6 = false;
  if (ai->ai_addr->sa_family == AF_INET && ai->ai_addrlen >= sizeof(sockaddr_in)) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
    if (!inet_ntop(AF_INET, &a->sin_addr, host, sizeof host)) return false;
    ip = host;
    port = ntohs(a->sin_port);
  } else if (ai->ai_addr->sa_family == AF_INET6 && ai->ai_addrlen >= sizeof(sockaddr_in6)) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
    if (!inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host)) return false;
    ip = host;
    // A link-local source needs its interface to be reached again (RFC 4007 §11).
    char name[IF_NAMESIZE];
    if (a->sin6_scope_id != 0)
      ip += '%' + std::string(if_indextoname(a->sin6_scope_id, name) ? name : std::to_string(a->sin6_scope_id));
    port = ntohs(a->sin6_port);
    v6 = true;
  } else {
    return false;
  }
  const char* proto = ai->ai_protocol == IPPROTO_TCP ? "tcp" : ai->ai_protocol == IPPROTO_SCTP ? "sctp" : "udp";
  source = std::string(proto) + ":" + (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
  return true;
}

RegisterRequest parseRegister(msg_t* msg, const sip_t* sip) {
  RegisterRequest r;
  if (!messageSource(msg, r.source, r.sourceIp)) {
    r.malformed = "source";
    return r;
  }
  if (const char* why = checkBasics(sip)) {
    r.malformed = why;
    return r;
  }
  Home home;
  r.requestHost = sip->sip_request->rq_url->url_host ? sip->sip_request->rq_url->url_host : "";
  r.toUser = sip->sip_to->a_url->url_user;
  r.toHost = sip->sip_to->a_url->url_host;
  r.callId = sip->sip_call_id->i_id;
  r.cseq = sip->sip_cseq->cs_seq;
  if (sip->sip_user_agent && sip->sip_user_agent->g_string)
    r.userAgent = std::string(sip->sip_user_agent->g_string).substr(0, kMaxField);
  for (const sip_require_t* q = sip->sip_require; q; q = q->k_next)
    for (msg_param_t const* item = q->k_items; item && *item; ++item) r.require.emplace_back(*item);
  if (sip->sip_expires) r.expiresHeader = std::min<int64_t>(sip->sip_expires->ex_delta, 4294967295LL);
  if (const char* why = parseContacts(sip, r, home)) {
    r.malformed = why;
    return r;
  }
  parseAuthorizations(sip, sip->sip_authorization, r.authorizations, home);
  return r;
}

CallRequest parseCall(msg_t* msg, const sip_t* sip) {
  CallRequest r;
  if (!messageSource(msg, r.source, r.sourceIp)) {
    r.sourceIp.clear();
    return r;
  }
  Home home;
  // nta has checked that From, To, Call-ID and CSeq are there (RFC 3261 §8.1.1).
  if (sip->sip_from && sip->sip_from->a_url->url_user)
    r.fromUser = std::string(sip->sip_from->a_url->url_user).substr(0, kMaxField);
  if (sip->sip_call_id && sip->sip_call_id->i_id) r.callId = sip->sip_call_id->i_id;
  if (sip->sip_cseq) r.cseq = sip->sip_cseq->cs_seq;
  r.requestUri = urlString(home.get(), sip->sip_request->rq_url);
  if (sip->sip_to) r.toUri = urlString(home.get(), sip->sip_to->a_url);
  if (sip->sip_payload && sip->sip_payload->pl_data) r.body.assign(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  parseAuthorizations(sip, sip->sip_proxy_authorization, r.authorizations, home);
  return r;
}

}  // namespace sb::sip
