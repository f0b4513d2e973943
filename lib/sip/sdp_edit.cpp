#include "sip/sdp_edit.hpp"

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_string.h>

#include <cstdlib>
#include <cstring>

#include "sip/sofia.hpp"

namespace sb::sip {
namespace {

// One parse: Sofia's parser lives in its own home, freed with it.
struct Parsed {
  Home owner;
  su_home_t* home = owner.get();
  sdp_parser_t* parser = nullptr;
  sdp_session_t* session = nullptr;
  Parsed(const std::string& text, int flags) {
    parser = sdp_parse(home, text.data(), static_cast<issize_t>(text.size()), flags);
    session = parser ? sdp_session(parser) : nullptr;
  }
  ~Parsed() {
    if (parser) sdp_parser_free(parser);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  std::optional<std::string> print() const {
    sdp_printer_t* p = sdp_print(home, session, nullptr, 0, 0);
    if (!p) return std::nullopt;
    std::optional<std::string> out;
    if (!sdp_printing_error(p) && sdp_message(p)) out = std::string(sdp_message(p), sdp_message_size(p));
    sdp_printer_free(p);
    return out;
  }
};

}  // namespace

std::optional<bool> sdpHeld(const std::string& sdp) {
  Parsed s(sdp, sdp_f_mode_0000);
  if (!s.session || !s.session->sdp_media) return std::nullopt;
  for (const sdp_media_t* m = s.session->sdp_media; m; m = m->m_next)
    if (!m->m_rejected && (m->m_mode & sdp_recvonly)) return false;
  return true;
}

std::optional<std::string> sdpReissued(const std::string& sdp, bool hold, uint64_t versionStep) {
  Parsed s(sdp, 0);
  if (!s.session || !s.session->sdp_origin) return std::nullopt;
  for (sdp_media_t* m = s.session->sdp_media; m; m = m->m_next) {
    if (m->m_rejected) continue;  // a refused stream stays refused (port 0)
    m->m_mode = hold ? (m->m_mode & sdp_sendonly) : (m->m_mode | sdp_recvonly);
  }
  s.session->sdp_origin->o_version += versionStep;
  return s.print();
}

std::string sdpVersionShifted(const std::string& sdp, uint64_t step) {
  if (step == 0) return sdp;
  Parsed s(sdp, 0);
  if (!s.session || !s.session->sdp_origin) return sdp;
  s.session->sdp_origin->o_version += step;
  return s.print().value_or(sdp);
}

std::optional<std::string> sdpParkedAnswer(const std::string& offer, const std::string& user, uint64_t sessionId,
                                           const std::string& address) {
  Parsed s(offer, 0);
  if (!s.session || !s.session->sdp_origin || !s.session->sdp_origin->o_address) return std::nullopt;
  sdp_origin_t* o = s.session->sdp_origin;
  o->o_username = su_strdup(s.home, user.c_str());
  o->o_id = sessionId;
  o->o_version = 1;
  o->o_address->c_address = su_strdup(s.home, address.c_str());
  const auto park = [&](sdp_connection_t* c) {
    for (; c; c = c->c_next) c->c_address = su_strdup(s.home, "0.0.0.0");
  };
  park(s.session->sdp_connection);
  for (sdp_media_t* m = s.session->sdp_media; m; m = m->m_next) {
    park(m->m_connections);
    if (!m->m_rejected) m->m_mode = sdp_inactive;
  }
  return s.print();
}

std::optional<std::string> sdpUnderOrigin(const std::string& sdp, const std::string& ours, bool sendrecv) {
  Parsed theirs(sdp, 0), mine(ours, 0);
  if (!theirs.session || !theirs.session->sdp_origin || !mine.session || !mine.session->sdp_origin) return std::nullopt;
  sdp_origin_t* o = theirs.session->sdp_origin;
  const sdp_origin_t* m = mine.session->sdp_origin;
  o->o_username = su_strdup(theirs.home, m->o_username ? m->o_username : "-");
  o->o_id = m->o_id;
  o->o_version = m->o_version + 1;
  if (o->o_address && m->o_address && m->o_address->c_address)
    o->o_address->c_address = su_strdup(theirs.home, m->o_address->c_address);
  if (sendrecv)
    for (sdp_media_t* media = theirs.session->sdp_media; media; media = media->m_next)
      if (!media->m_rejected) media->m_mode = sdp_sendrecv;
  return theirs.print();
}

namespace {

bool isAudio(const sdp_media_t* m) { return m->m_type == sdp_media_audio && !m->m_rejected && m->m_port != 0; }

const char* connectionOf(const sdp_session_t* s, const sdp_media_t* m) {
  if (m->m_connections && m->m_connections->c_address) return m->m_connections->c_address;
  if (s->sdp_connection && s->sdp_connection->c_address) return s->sdp_connection->c_address;
  return nullptr;
}

}  // namespace

std::optional<SdpAudio> sdpAudio(const std::string& sdp) {
  Parsed s(sdp, 0);
  if (!s.session) return std::nullopt;
  for (const sdp_media_t* m = s.session->sdp_media; m; m = m->m_next) {
    if (!isAudio(m)) continue;
    const char* address = connectionOf(s.session, m);
    if (!address || m->m_port > 65535) return std::nullopt;
    SdpAudio a;
    a.address = address;
    a.port = static_cast<uint16_t>(m->m_port);
    a.sends = (m->m_mode & sdp_sendonly) != 0 && a.address != "0.0.0.0";
    for (const sdp_rtpmap_t* rm = m->m_rtpmaps; rm; rm = rm->rm_next)
      if (rm->rm_encoding && su_casematch(rm->rm_encoding, "telephone-event")) a.telephoneEvent = rm->rm_pt;
    for (const sdp_attribute_t* at = m->m_attributes; at; at = at->a_next)
      if (at->a_name && su_casematch(at->a_name, "rtcp") && at->a_value) {
        const unsigned long port = std::strtoul(at->a_value, nullptr, 10);
        if (port > 0 && port <= 65535) a.rtcpPort = static_cast<uint16_t>(port);
      }
    return a;
  }
  return std::nullopt;
}

std::optional<std::string> sdpAnchored(const std::string& sdp, const std::string& address, uint16_t port) {
  Parsed s(sdp, 0);
  if (!s.session) return std::nullopt;
  bool anchored = false;
  const auto ours = [&](sdp_connection_t* c) {
    for (; c; c = c->c_next)
      if (c->c_address && std::strcmp(c->c_address, "0.0.0.0") != 0) c->c_address = su_strdup(s.home, address.c_str());
  };
  for (sdp_media_t* m = s.session->sdp_media; m; m = m->m_next) {
    if (!anchored && isAudio(m)) {
      anchored = true;
      m->m_port = port;
      ours(m->m_connections);
      sdp_attribute_remove(&m->m_attributes, "rtcp");
      continue;
    }
    // RFC 3264 §6: a stream we do not carry is refused with port 0.
    m->m_port = 0;
    m->m_rejected = 1;
  }
  if (!anchored) return std::nullopt;
  ours(s.session->sdp_connection);
  if (s.session->sdp_origin && s.session->sdp_origin->o_address)
    s.session->sdp_origin->o_address->c_address = su_strdup(s.home, address.c_str());
  return s.print();
}

}  // namespace sb::sip

namespace sb::sip {

std::optional<std::string> sdpMirroredAnswer(const std::string& offer, const std::string& ours) {
  // c=0.0.0.0 in the offer reads as sendonly (RFC 2543's hold), so its answer is recvonly.
  Parsed theirs(offer, sdp_f_mode_0000), mine(ours, 0);
  if (!theirs.session || !mine.session || !mine.session->sdp_origin) return std::nullopt;
  sdp_media_t* m = mine.session->sdp_media;
  const sdp_media_t* o = theirs.session->sdp_media;
  for (; m && o; m = m->m_next, o = o->m_next) {
    if (m->m_type != o->m_type) return std::nullopt;  // not the streams we negotiated: not ours to answer
    if (o->m_rejected || o->m_port == 0 || m->m_rejected) {
      m->m_port = 0;  // RFC 3264 §6: refused in the offer, refused in the answer
      m->m_rejected = 1;
      continue;
    }
    // RFC 3264 §6.1: sendonly is answered recvonly, recvonly sendonly, inactive inactive.
    const unsigned offered = static_cast<unsigned>(o->m_mode);
    m->m_mode = ((offered & sdp_sendonly) ? unsigned{sdp_recvonly} : 0U) | ((offered & sdp_recvonly) ? unsigned{sdp_sendonly} : 0U);
    // §6.1: the answer's formats are among the offer's; ours that the offer
    // kept stay (a phone re-offering on hold may narrow its list), and none
    // kept leaves ours as they were rather than an empty m= line.
    sdp_rtpmap_t** keep = &m->m_rtpmaps;
    bool any = false;
    for (sdp_rtpmap_t* rm = m->m_rtpmaps; rm; rm = rm->rm_next)
      for (const sdp_rtpmap_t* x = o->m_rtpmaps; x; x = x->rm_next)
        if (x->rm_pt == rm->rm_pt) any = true;
    if (any) {
      while (*keep) {
        bool offeredToo = false;
        for (const sdp_rtpmap_t* x = o->m_rtpmaps; x; x = x->rm_next)
          if (x->rm_pt == (*keep)->rm_pt) offeredToo = true;
        if (offeredToo)
          keep = &(*keep)->rm_next;
        else
          *keep = (*keep)->rm_next;
      }
    }
  }
  if (m || o) return std::nullopt;  // a different number of streams (§8: an offer keeps every m= line)
  ++mine.session->sdp_origin->o_version;  // §8: a changed description, one version higher
  return mine.print();
}

}  // namespace sb::sip
