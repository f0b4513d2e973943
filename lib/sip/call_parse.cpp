#include "sip/call_parse.hpp"

#include <cctype>

#include <sofia-sip/msg_types.h>
#include <sofia-sip/sip_header.h>
#include <strings.h>

namespace sb::sip {
namespace {

std::string cut(std::string_view s, size_t max) { return std::string(s.substr(0, max)); }

// Blanks around a value; CR and LF too, for the lines of an INFO body.
std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

const config::Trunk* trunkForSource(const std::vector<config::Trunk>& trunks, const std::string& ip) {
  const auto addr = config::parseIp(ip.substr(0, ip.find('%')));
  if (!addr) return nullptr;
  for (const auto& t : trunks)
    for (const auto& cidr : t.inboundFrom)
      if (cidr.contains(*addr)) return &t;
  return nullptr;
}

Payload payloadOf(const sip_t* sip) {
  Payload p;
  if (!sip) return p;
  if (sip->sip_payload) p.body.assign(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  if (sip->sip_content_type && sip->sip_content_type->c_type) p.type = sip->sip_content_type->c_type;
  return p;
}

bool hasBody(const sip_t* sip) { return sip && sip->sip_payload && sip->sip_payload->pl_len > 0; }

bool isSdp(const sip_t* sip) {
  return sip && sip->sip_payload && sip->sip_content_type && sip->sip_content_type->c_type &&
         strcasecmp(sip->sip_content_type->c_type, "application/sdp") == 0;
}

uint32_t cseqOf(const sip_t* sip) { return sip && sip->sip_cseq ? sip->sip_cseq->cs_seq : 1; }

std::string inviteKey(const sip_t* sip) {
  if (!sip || !sip->sip_call_id || !sip->sip_call_id->i_id || !sip->sip_cseq || !sip->sip_via) return {};
  // Tags, branch and host compare case-insensitively (Sofia's incoming_find
  // does the same); the Call-ID does not (RFC 3261 §20.8).
  const auto lower = [](const char* s) {
    std::string out = s ? s : "";
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const sip_via_t* v = sip->sip_via;
  std::string key = sip->sip_call_id->i_id;
  key += '\n';
  key += lower(sip->sip_from ? sip->sip_from->a_tag : nullptr);
  key += '\n';
  key += std::to_string(sip->sip_cseq->cs_seq);
  key += '\n';
  key += lower(v->v_branch);
  key += '\n';
  key += lower(v->v_host);
  key += ':';
  key += v->v_port ? v->v_port : "";
  return key;
}

std::string dialledNumber(std::string_view user) { return std::string(user.substr(0, user.find(';'))); }

nlohmann::json parseIvrPath(std::string_view value) {
  nlohmann::json out = nlohmann::json::array();
  while (!value.empty() && out.size() < 32) {
    const size_t semi = value.find(';');
    std::string_view item = trim(value.substr(0, semi));
    value = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view label = eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
    // nlohmann::json refuses invalid UTF-8 when dumped: keep printable ASCII only.
    std::string k = cut(key, 64), l = cut(label, 64);
    for (auto* s : {&k, &l})
      for (auto& c : *s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    out.push_back({{"key", k}, {"label", l}});
  }
  return out;
}

InviteInfo parseInvite(const sip_t* sip) {
  InviteInfo info;
  const char* ruser = sip->sip_request ? sip->sip_request->rq_url->url_user : nullptr;
  const char* tuser = sip->sip_to ? sip->sip_to->a_url->url_user : nullptr;
  if (ruser && *ruser)
    info.number = dialledNumber(ruser);
  else if (tuser)
    info.number = dialledNumber(tuser);
  if (sip->sip_from) {
    if (sip->sip_from->a_url->url_user) info.callerNumber = dialledNumber(sip->sip_from->a_url->url_user);
    if (sip->sip_from->a_display) {
      std::string d = sip->sip_from->a_display;
      if (d.size() >= 2 && d.front() == '"' && d.back() == '"') d = d.substr(1, d.size() - 2);
      info.callerName = cut(d, 128);
    }
  }
  if (sip->sip_max_forwards) info.maxForwards = static_cast<unsigned>(sip->sip_max_forwards->mf_count);
  Payload p = payloadOf(sip);
  info.sdp = std::move(p.body);
  info.contentType = std::move(p.type);
  for (const sip_unknown_t* u = sip->sip_unknown; u; u = u->un_next)
    if (u->un_name && u->un_value && strcasecmp(u->un_name, kIvrPathHeader) == 0)
      info.ivrPath = parseIvrPath(u->un_value);
  return info;
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::optional<char> dtmfKey(std::string_view v) {
  v = trim(v);
  if (v == "10") return '*';
  if (v == "11") return '#';
  if (v.size() != 1) return std::nullopt;
  const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D')) return c;
  return std::nullopt;
}

}  // namespace

bool allowsEvent(const sip_t* sip, std::string_view package) {
  if (!sip) return false;
  for (const sip_allow_events_t* h = sip->sip_allow_events; h; h = h->k_next)
    for (const msg_param_t* item = h->k_items; item && *item; ++item)
      if (iequals(trim(*item), package)) return true;
  return false;
}

std::optional<char> parseDtmfInfo(std::string_view contentType, std::string_view body) {
  const std::string_view type = trim(contentType.substr(0, contentType.find(';')));
  if (iequals(type, "application/dtmf")) return dtmfKey(body);
  if (!iequals(type, "application/dtmf-relay")) return std::nullopt;
  // Lines of "Name=value"; the key is Signal's value.
  while (!body.empty()) {
    const size_t eol = body.find('\n');
    std::string_view line = trim(body.substr(0, eol));
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (iequals(trim(line.substr(0, eq)), "signal")) return dtmfKey(line.substr(eq + 1));
  }
  return std::nullopt;
}

}  // namespace sb::sip
