#include "sip/registrar_sofia.hpp"

#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_tag.h>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "metrics/metrics.hpp"
#include "sip/options_probe.hpp"
#include "sip/register_parse.hpp"
#include "store/registrations.hpp"

namespace sb::sip {
namespace {

Now nowBoth() { return {wallClockMs(), monotonicNow().ms}; }


std::string headerBlock(const RegisterReply& r) {
  std::string h;
  if (r.minExpires) h += "Min-Expires: " + std::to_string(*r.minExpires) + "\r\n";
  if (!r.unsupported.empty()) {
    h += "Unsupported: ";
    for (size_t i = 0; i < r.unsupported.size(); ++i) h += (i ? ", " : "") + r.unsupported[i];
    h += "\r\n";
  }
  if (r.retryAfter > 0) h += "Retry-After: " + std::to_string(r.retryAfter) + "\r\n";
  for (const auto& c : r.contacts) h += "Contact: <" + c.uri + ">;expires=" + std::to_string(c.expires) + "\r\n";
  return h;
}

// The challenges are built as headers rather than parsed from text, so that
// their parameters go out exactly as the engine wrote them (see
// Registrar::challenges on the spacing of "algorithm"). `kind`:
// WWW-Authenticate for REGISTER (401), Proxy-Authenticate for INVITE (407).
void addChallenges(msg_t* reply, const std::vector<std::string>& challenges, msg_hclass_t* kind) {
  su_home_t* home = msg_home(reply);
  for (const auto& c : challenges) {
    auto* au = reinterpret_cast<msg_auth_t*>(msg_header_alloc(home, kind, 0));
    if (!au) return;
    std::vector<std::string> params;
    const std::string body = c.substr(c.find(' ') + 1);  // after "Digest"
    for (size_t at = 0; at <= body.size();) {
      const size_t comma = body.find(", ", at);
      params.push_back(body.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
      if (comma == std::string::npos) break;
      at = comma + 2;
    }
    auto* list = static_cast<msg_param_t*>(su_zalloc(home, (params.size() + 1) * sizeof(msg_param_t)));
    if (!list) return;
    for (size_t i = 0; i < params.size(); ++i) list[i] = su_strdup(home, params[i].c_str());
    au->au_scheme = "Digest";
    au->au_params = list;
    msg_header_insert(reply, nullptr, reinterpret_cast<msg_header_t*>(au));
  }
}

}  // namespace

SofiaRegistrar::SofiaRegistrar(su_root_t* root, nta_agent_t* agent, const config::Config& cfg,
                               metrics::Metrics& metrics, store::Store* store, std::string serverHeader)
    : agent_(agent),
      metrics_(metrics),
      store_(store),
      server_(std::move(serverHeader)),
      realm_(cfg.sip.domain),
      keepaliveSeconds_(cfg.registrar.keepaliveSeconds),
      engine_(cfg),
      timer_(su_timer_create(su_root_task(root), 1000)),
      probePrefix_("sbka-" + randomHex(6) + "-") {
  serverHeader_ = sip_server_make(home_.get(), server_.c_str());
  restore();
  if (timer_) su_timer_set_for_ever(timer_.get(), &SofiaRegistrar::onTimer, reinterpret_cast<su_timer_arg_t*>(this));
  updateGauges();
}

SofiaRegistrar::~SofiaRegistrar() {
  timer_.reset();
  flush();
}

void SofiaRegistrar::restore() {
  if (!store_) return;
  const Now now = nowBoth();
  std::set<std::string> configured;
  size_t n = 0;
  try {
    for (const auto& s : store::loadBindings(*store_, now.wallMs)) {
      Binding b;
      b.key = s.key;
      b.uri = s.uri;
      b.source = s.source;
      b.userAgent = s.userAgent;
      b.callId = s.callId;
      b.cseq = s.cseq;
      b.expiresAtMs = s.expiresAtMs;
      b.updatedAtMs = s.updatedAtMs;
      // Spread the first keepalives over one interval rather than all at once.
      const int64_t spread = keepaliveSeconds_ > 0 ? static_cast<int64_t>(n * 997) % (keepaliveSeconds_ * 1000LL) : 0;
      engine_.table().restore(s.extension, std::move(b), now.wallMs, now.wallMs + 1000 + spread);
      ++n;
    }
  } catch (const std::exception& e) {
    SB_ERROR("registrar", "cannot restore bindings from the store: %s", e.what());
  }
  engine_.table().takeDirty();
  if (n) SB_INFO("registrar", "restored %zu binding(s) of %zu extension(s) from the store", n,
                 engine_.table().extensions().size());
}

bool SofiaRegistrar::dropBanned(msg_t* msg) {
  std::string source, ip;
  if (engine_.bannedSources() == 0 || !messageSource(msg, source, ip)) return false;
  if (!engine_.banned(ip, monotonicNow().ms)) return false;
  metrics_.bannedRequests.Increment();
  nta_msg_discard(agent_, msg);
  return true;
}

void SofiaRegistrar::handleRegister(msg_t* msg, sip_t* sip) {
  const RegisterRequest req = parseRegister(msg, sip);
  const RegisterReply r = engine_.handle(req, nowBoth());
  if (r.drop) {
    metrics_.bannedRequests.Increment();
    nta_msg_discard(agent_, msg);
    return;
  }
  if (!r.malformedReason.empty()) metrics_.sipMalformed(r.malformedReason).Increment();
  if (r.authFailure) metrics_.authFailures.Increment();
  reply(msg, r);
  updateGauges();
}

void SofiaRegistrar::reply(msg_t* msg, const RegisterReply& r) {
  metrics_.sipResponse("REGISTER", r.status).Increment();
  const std::string extra = headerBlock(r);
  msg_t* out = nta_msg_create(agent_, 0);
  if (!out) {
    nta_msg_discard(agent_, msg);
    return;
  }
  addChallenges(out, r.challenges, sip_www_authenticate_class);
  sip_date_t* date = r.status == 200 ? sip_date_create(msg_home(out), sip_now()) : nullptr;  // §10.3 step 8
  nta_msg_mreply(agent_, out, sip_object(out), r.status, r.phrase.c_str(), msg, SIPTAG_SERVER(serverHeader_),
                 TAG_IF(date, SIPTAG_DATE(date)), TAG_IF(!extra.empty(), SIPTAG_HEADER_STR(extra.c_str())),
                 TAG_END());
}

std::optional<std::string> SofiaRegistrar::authenticateCaller(msg_t* msg, sip_t* sip) {
  const CallReply r = engine_.authorizeCall(parseCall(msg, sip), nowBoth());
  if (r.authFailure) metrics_.authFailures.Increment();
  switch (r.outcome) {
    case CallReply::Outcome::authenticated: return r.extension;
    case CallReply::Outcome::drop:
      metrics_.bannedRequests.Increment();
      nta_msg_discard(agent_, msg);
      break;
    case CallReply::Outcome::refuse:
      metrics_.callsRefused(r.refusal).Increment();
      reply(msg, r);
      break;
    case CallReply::Outcome::challenge: reply(msg, r); break;
  }
  updateGauges();  // a failure may have started a ban
  return std::nullopt;
}

// Stateless, like every answer here: the phone's ACK to it (RFC 3261 §17.1.1.3)
// matches no transaction and is absorbed by SipServer; a retransmitted INVITE is
// answered again the same way (the nonce-count tells its retransmission apart).
void SofiaRegistrar::reply(msg_t* msg, const CallReply& r) {
  metrics_.sipResponse("INVITE", r.status).Increment();
  msg_t* out = nta_msg_create(agent_, 0);
  if (!out) {
    nta_msg_discard(agent_, msg);
    return;
  }
  addChallenges(out, r.challenges, sip_proxy_authenticate_class);
  nta_msg_mreply(agent_, out, sip_object(out), r.status, r.phrase.c_str(), msg, SIPTAG_SERVER(serverHeader_),
                 TAG_END());
}

bool SofiaRegistrar::handleResponse(msg_t* msg, sip_t* sip) {
  if (!sip->sip_call_id || !sip->sip_call_id->i_id) return false;
  const std::string callId = sip->sip_call_id->i_id;
  if (callId.compare(0, probePrefix_.size(), probePrefix_) != 0) return false;
  // Any final answer, even an error, shows the phone and its NAT mapping are alive.
  if (sip->sip_status && sip->sip_status->st_status >= 200)
    engine_.keepaliveAnswered(std::string_view(callId).substr(probePrefix_.size()));
  nta_msg_discard(agent_, msg);
  return true;
}

void SofiaRegistrar::sendProbe(const Probe& p) {
  const std::string route = routeForSource(p.source);
  const std::string callId = probePrefix_ + keepaliveTag(p.id, p.extension);
  if (route.empty() || !sendOptionsProbe(agent_, p.uri, route, callId, realm_, server_))
    SB_DEBUG("registrar", "keepalive to %s failed to send", p.source.c_str());
}

void SofiaRegistrar::onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  try {
    reinterpret_cast<SofiaRegistrar*>(arg)->tick();
  } catch (const std::exception& e) {
    SB_ERROR("registrar", "timer failed: %s", e.what());
  }
}

void SofiaRegistrar::tick() {
  for (const auto& p : engine_.tick(nowBoth())) sendProbe(p);
  flush();
  countParserErrors();
  updateGauges();
}

void SofiaRegistrar::flush() {
  if (!store_) return;
  const auto dirty = engine_.table().takeDirty();
  if (dirty.empty()) return;
  const int64_t now = wallClockMs();
  std::vector<std::string> exts(dirty.begin(), dirty.end());
  std::vector<store::StoredBinding> rows;
  for (const auto& ext : exts)
    for (const auto& b : engine_.table().list(ext, now))
      rows.push_back({ext, b.key, b.uri, b.source, b.userAgent, b.callId, b.cseq, b.expiresAtMs, b.updatedAtMs});
  try {
    store::replaceBindings(*store_, exts, rows);
  } catch (const std::exception& e) {
    // The bindings stay served from memory; the next change is written again.
    SB_ERROR("registrar", "cannot save %zu binding(s): %s", rows.size(), e.what());
  }
}

// Messages nta rejects before our callback (unparseable, failed sanity checks:
// nta.c agent_recv_request answers those 400 itself) show only in its counters.
void SofiaRegistrar::countParserErrors() {
  usize_t bad = 0;
  nta_agent_get_stats(agent_, NTATAG_S_BAD_MESSAGE_REF(bad), TAG_END());
  if (bad > lastBadMessages_) metrics_.sipMalformed("parser").Increment(static_cast<double>(bad - lastBadMessages_));
  lastBadMessages_ = bad;
}

void SofiaRegistrar::updateGauges() {
  metrics_.registeredContacts.Set(static_cast<double>(engine_.table().contactCount()));
  metrics_.bannedSources.Set(static_cast<double>(engine_.bannedSources()));
}

void SofiaRegistrar::applyConfig(const config::Config& cfg) {
  realm_ = cfg.sip.domain;
  keepaliveSeconds_ = cfg.registrar.keepaliveSeconds;
  engine_.configure(cfg, nowBoth());
  updateGauges();
}

void SofiaRegistrar::setFactSink(Registrar::FactSink sink) { engine_.setFactSink(std::move(sink), nowBoth()); }

std::vector<core::ContactInfo> SofiaRegistrar::contacts(const std::string& extension) const {
  return engine_.contacts(extension, wallClockMs());
}

}  // namespace sb::sip
