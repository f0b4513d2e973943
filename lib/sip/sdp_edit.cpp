#include "sip/sdp_edit.hpp"

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_string.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "sip/sofia.hpp"

namespace sb::sip {
namespace {

// RFC 4566 §9: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E.
bool tokenChar(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e ||
         (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e);
}

bool token(std::string_view t) {
  if (t.empty()) return false;
  for (const char c : t)
    if (!tokenChar(static_cast<unsigned char>(c))) return false;
  return true;
}

// RFC 4566 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ..., spaces
// between, <proto> tokens joined by "/", each <fmt> a token (none at
// all is let through: Sofia reads it, and a refused stream sometimes has none).
bool mediaLine(std::string_view line) {
  // Trailing spaces, which some phones send, are no format (Sofia reads past
  // them too). A tab is no separator here: Sofia loops on "R \t" at the end.
  if (line.find('\t') != std::string_view::npos) return false;
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  std::vector<std::string_view> f;
  for (size_t at = 0;;) {
    const size_t sp = line.find(' ', at);
    // Runs of spaces separate as one (Sofia's reading).
    if (const auto field = line.substr(at, sp == std::string_view::npos ? std::string_view::npos : sp - at);
        !field.empty())
      f.push_back(field);
    if (sp == std::string_view::npos) break;
    at = sp + 1;
  }
  if (f.size() < 3 || !token(f[0])) return false;
  const size_t slash = f[1].find('/');
  for (const std::string_view n : {f[1].substr(0, slash), slash == std::string_view::npos ? "0" : f[1].substr(slash + 1)})
    if (n.empty() || n.find_first_not_of("0123456789") != std::string_view::npos) return false;
  for (size_t at = 0;;) {
    const size_t next = f[2].find('/', at);
    if (!token(f[2].substr(at, next == std::string_view::npos ? std::string_view::npos : next - at))) return false;
    if (next == std::string_view::npos) break;
    at = next + 1;
  }
  for (size_t i = 3; i < f.size(); ++i)
    if (!token(f[i])) return false;
  return true;
}

// What Sofia's SDP parser may be given (found by tests/fuzz/fuzz_sdp; the
// inputs are in tests/fuzz/regressions/fuzz_sdp). Debian's Sofia-SIP 1.12
// loops for ever on an m= line whose format list has a non-token character
// where a format starts ("m=audio 4000 udp :", "RTP/AVP/о 0", tabs after the
// protocol), which would stall the SIP thread until the watchdog restarts the
// daemon; a description with such an m= line is refused before the parser
// sees it, as any other description we cannot read. Sofia skips blanks
// before a line's type letter and ends a line at CR or LF, and so does this
// check. Other lines are left to Sofia, which reads them without looping
// (the fuzzer's finding so far): refusing what RFC 4566 allows there (UTF-8
// in o= or k=, control characters in free text) would silently un-anchor a
// call.
bool parseable(std::string_view text) {
  // Sofia ends a line at a CR or an LF alone, as well as at CRLF.
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find_first_of("\r\n", at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.size() < 2 || line[0] != 'm' || line[1] != '=') continue;
    std::string_view media = line.substr(2);
    while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
    for (const char ch : media) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c >= 0x7f) return false;
    }
    if (!mediaLine(media)) return false;
  }
  return true;
}

// One parse: Sofia's parser lives in its own home, freed with it.
struct Parsed {
  Home owner;
  su_home_t* home = owner.get();
  sdp_parser_t* parser = nullptr;
  sdp_session_t* session = nullptr;
  Parsed(const std::string& text, int flags) {
    // Sofia reads up to the first NUL (some phones count one in Content-Length).
    const std::string_view upToNul(text.data(), std::min(text.size(), std::strlen(text.c_str())));
    if (!parseable(upToNul)) return;
    parser = sdp_parse(home, upToNul.data(), static_cast<issize_t>(upToNul.size()), flags);
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

sdp_media_t* firstAudio(sdp_session_t* s) {
  for (sdp_media_t* m = s ? s->sdp_media : nullptr; m; m = m->m_next)
    if (isAudio(m)) return m;
  return nullptr;
}

bool hasFormat(const sdp_media_t* m, int pt) {
  for (const sdp_rtpmap_t* x = m->m_rtpmaps; x; x = x->rm_next)
    if (static_cast<int>(x->rm_pt) == pt) return true;
  return false;
}

// `m`'s formats narrowed to those `allowed` has too (by payload type); none
// in common leaves `m` as it was rather than an m= line without formats.
void keepFormatsOf(sdp_media_t* m, const sdp_media_t* allowed) {
  bool any = false;
  for (const sdp_rtpmap_t* rm = m->m_rtpmaps; rm; rm = rm->rm_next) any = any || hasFormat(allowed, rm->rm_pt);
  if (!any) return;
  for (sdp_rtpmap_t** keep = &m->m_rtpmaps; *keep;) {
    if (hasFormat(allowed, (*keep)->rm_pt))
      keep = &(*keep)->rm_next;
    else
      *keep = (*keep)->rm_next;
  }
}

// RFC 3551 §6: PCMU is 0 and PCMA 8, statically. The engine knows G.711 by
// those numbers alone, so a dynamic number given to either (allowed, rare)
// counts as a codec it relays without decoding.
int g711Law(const sdp_rtpmap_t* rm) {
  return rm->rm_pt == 0 || rm->rm_pt == 8 ? static_cast<int>(rm->rm_pt) : -1;
}

// RFC 3264 §6.1: an answer's direction for an offered one: sendonly is
// answered recvonly, recvonly sendonly, inactive inactive, sendrecv sendrecv.
unsigned mirrored(unsigned offered) {  // sdp_media_t::m_mode's bits
  return ((offered & sdp_sendonly) ? unsigned{sdp_recvonly} : 0U) | ((offered & sdp_recvonly) ? unsigned{sdp_sendonly} : 0U);
}

uint8_t lawBit(int law) { return law == 0 ? 1 : law == 8 ? 2 : 0; }

uint8_t lawsOf(const sdp_media_t* m) {
  uint8_t laws = 0;
  for (const sdp_rtpmap_t* rm = m->m_rtpmaps; rm; rm = rm->rm_next) laws |= lawBit(g711Law(rm));
  return laws;
}

// A static G.711 format of Sofia's own, allocated in `home` (RFC 3551 §6).
sdp_rtpmap_t* staticLaw(su_home_t* home, int law) {
  auto* rm = static_cast<sdp_rtpmap_t*>(su_zalloc(home, sizeof(sdp_rtpmap_t)));
  if (!rm) return nullptr;
  rm->rm_size = static_cast<int>(sizeof(sdp_rtpmap_t));
  rm->rm_predef = 1;
  rm->rm_pt = static_cast<unsigned>(law);
  rm->rm_encoding = law == 0 ? "PCMU" : "PCMA";
  rm->rm_rate = 8000;
  return rm;
}

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
    if (m->m_rtpmaps) a.format = static_cast<int>(m->m_rtpmaps->rm_pt);
    for (const sdp_rtpmap_t* rm = m->m_rtpmaps; rm; rm = rm->rm_next) a.laws |= lawBit(g711Law(rm));
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
    m->m_mode = mirrored(o->m_mode);
    // §6.1: the answer's formats are among the offer's (a phone re-offering
    // on hold may narrow its list).
    keepFormatsOf(m, o);
  }
  if (m || o) return std::nullopt;  // a different number of streams (§8: an offer keeps every m= line)
  ++mine.session->sdp_origin->o_version;  // §8: a changed description, one version higher
  return mine.print();
}

std::optional<std::string> sdpOwnAnswer(const std::string& offer, const std::string& user, uint64_t sessionId,
                                        const std::string& address, uint16_t port) {
  // c=0.0.0.0 read as sendonly (RFC 2543's hold), so it is answered recvonly.
  Parsed s(offer, sdp_f_mode_0000);
  if (!s.session || !s.session->sdp_origin || !s.session->sdp_origin->o_address) return std::nullopt;
  sdp_media_t* audio = firstAudio(s.session);
  // Plain RTP/AVP only: an SRTP offer (RTP/SAVP, a=crypto) is not ours to answer.
  if (!audio || audio->m_proto != sdp_proto_rtp) return std::nullopt;
  // RFC 3264 §6.1: one codec out of the offer, the first G.711 law it lists
  // (seatbridge makes the music in it), and telephone-events at 8000 Hz
  // beside it (RFC 4733 §2.5.1.2: the answer keeps the offer's number).
  sdp_rtpmap_t* law = nullptr;
  sdp_rtpmap_t* events = nullptr;
  for (sdp_rtpmap_t* rm = audio->m_rtpmaps; rm; rm = rm->rm_next) {
    if (!law && g711Law(rm) >= 0) law = rm;
    if (!events && rm->rm_encoding && su_casematch(rm->rm_encoding, "telephone-event") && rm->rm_rate == 8000)
      events = rm;
  }
  if (!law) return std::nullopt;  // nothing seatbridge can play in
  law->rm_next = nullptr;
  if (events && events != law) {
    events->rm_next = nullptr;
    law->rm_next = events;
  }
  audio->m_rtpmaps = law;
  audio->m_port = port;
  audio->m_mode = mirrored(audio->m_mode);
  // The offerer's own attributes (its RTCP port, ssrc, ptime...) are not
  // ours to answer with: we send 20 ms packets, G.711's default (RFC 3551 §4.5).
  audio->m_attributes = nullptr;
  audio->m_bandwidths = nullptr;
  for (sdp_media_t* m = s.session->sdp_media; m; m = m->m_next) {
    if (m == audio) continue;
    m->m_port = 0;  // RFC 3264 §6: a stream we do not carry is refused
    m->m_rejected = 1;
  }
  sdp_origin_t* o = s.session->sdp_origin;
  o->o_username = su_strdup(s.home, user.c_str());
  o->o_id = sessionId;
  o->o_version = 1;
  o->o_address->c_address = su_strdup(s.home, address.c_str());
  o->o_address->c_addrtype = sdp_addr_ip4;
  // Our address where the offer had one (session level, media level or both, RFC 4566 §5.7).
  for (sdp_connection_t* c : {s.session->sdp_connection, audio->m_connections})
    if (c) {
      c->c_address = su_strdup(s.home, address.c_str());
      c->c_addrtype = sdp_addr_ip4;
      c->c_next = nullptr;
    }
  s.session->sdp_attributes = nullptr;
  s.session->sdp_bandwidths = nullptr;
  return s.print();
}

std::optional<std::string> sdpNarrowed(const std::string& offer, const std::string& answer) {
  Parsed o(offer, 0), a(answer, 0);
  sdp_media_t* offered = firstAudio(o.session);
  const sdp_media_t* chosen = firstAudio(a.session);
  if (!offered || !chosen) return std::nullopt;
  keepFormatsOf(offered, chosen);
  return o.print();
}

std::optional<std::string> sdpWithBothLaws(const std::string& offer) {
  Parsed o(offer, 0);
  sdp_media_t* audio = firstAudio(o.session);
  if (!audio) return std::nullopt;
  const uint8_t laws = lawsOf(audio);
  if (laws != 1 && laws != 2) return std::nullopt;  // both already, or neither: nothing to add
  for (sdp_rtpmap_t* rm = audio->m_rtpmaps; rm; rm = rm->rm_next) {
    if (g711Law(rm) < 0) continue;
    const int other = laws == 1 ? 8 : 0;
    // Its number must be free: a dynamic format numbered like the static one
    // (against RFC 3551 §6, but seen) leaves the offer as it was.
    if (hasFormat(audio, other)) return std::nullopt;
    sdp_rtpmap_t* added = staticLaw(o.home, other);
    if (!added) return std::nullopt;
    added->rm_next = rm->rm_next;  // right after the law offered: second choice
    rm->rm_next = added;
    break;
  }
  return o.print();
}

std::optional<std::string> sdpAnswerInOfferedLaw(const std::string& answer, const std::string& offer) {
  Parsed a(answer, 0), o(offer, 0);
  sdp_media_t* answered = firstAudio(a.session);
  const sdp_media_t* offered = firstAudio(o.session);
  if (!answered || !offered) return std::nullopt;
  const uint8_t offeredLaws = lawsOf(offered), answeredLaws = lawsOf(answered);
  if (offeredLaws == 0 || (answeredLaws & ~offeredLaws) == 0) return std::nullopt;  // nothing to change
  // The offer's own number for its law (a dynamic one stays as it offered it).
  const sdp_rtpmap_t* want = nullptr;
  for (const sdp_rtpmap_t* rm = offered->m_rtpmaps; rm && !want; rm = rm->rm_next)
    if (g711Law(rm) >= 0) want = rm;
  bool placed = (answeredLaws & offeredLaws) != 0;
  for (sdp_rtpmap_t** rm = &answered->m_rtpmaps; *rm;) {
    const int law = g711Law(*rm);
    if (law < 0 || (lawBit(law) & offeredLaws)) {
      rm = &(*rm)->rm_next;
      continue;
    }
    if (placed) {
      *rm = (*rm)->rm_next;  // the offered law is in the answer already
      continue;
    }
    sdp_rtpmap_t* swapped = sdp_rtpmap_dup(a.home, want);  // in the answer's own home (it copies want's list)
    if (!swapped) return std::nullopt;
    swapped->rm_next = (*rm)->rm_next;
    *rm = swapped;
    placed = true;
    rm = &swapped->rm_next;
  }
  return a.print();
}

}  // namespace sb::sip
