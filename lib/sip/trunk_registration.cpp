#include "sip/trunk_registration.hpp"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/url.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "common/log.hpp"
#include "sip/sofia.hpp"
#include "sip/trunk_auth.hpp"

namespace sb::sip {
namespace {

std::string hostOf(const config::HostPort& a) { return a.ipv6 ? "[" + a.host + "]" : a.host; }

// What makes a binding the same binding: the address-of-record and where it lives.
bool sameBinding(const config::Trunk& a, const config::Trunk& b) {
  return a.address.str() == b.address.str() && a.transport == b.transport &&
         a.registration->username == b.registration->username;
}

bool registers(const config::Trunk& t) { return t.registration && !t.registration->username.empty(); }

}  // namespace

struct TrunkRegistrations::Binding {
  TrunkRegistrations* owner = nullptr;
  config::Trunk cfg;
  std::string aor;         // <sip:user@trunk-host>
  std::string requestUri;  // sip:trunk-host:port[;transport=tcp]
  std::string contact;     // <sip:user@us:port[;transport=tcp]>
  nta_leg_t* leg = nullptr;
  nta_outgoing_t* orq = nullptr;
  TimerPtr timer;   // the next REGISTER: refresh or retry
  TimerPtr expiry;  // the binding lapses unless refreshed first
  TrunkAuth auth;
  int expires = 600;            // asked for; raised by a 423's Min-Expires
  bool intervalRaised = false;  // one 423 per attempt
  int64_t backoffMs = 0;        // the next retry's delay; 0: none failed yet
  bool registered = false;
  bool leaving = false;  // unREGISTERing; retired on its answer

  ~Binding() {
    timer.reset();
    expiry.reset();
    if (orq) nta_outgoing_destroy(orq);
    if (leg) nta_leg_destroy(leg);
  }
};

// ---- trampolines ------------------------------------------------------------------

struct RegistrationCallbacks {
  template <typename Fn>
  static void guarded(TrunkRegistrations& owner, const char* what, Fn&& fn) noexcept {
    owner.enter();
    try {
      fn();
    } catch (const std::exception& e) {
      SB_ERROR("trunks", "registration %s failed: %s", what, e.what());
    }
    try {
      owner.exit();
    } catch (const std::exception& e) {
      SB_ERROR("trunks", "after registration %s: %s", what, e.what());
    }
  }
  static int response(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
    auto* b = reinterpret_cast<TrunkRegistrations::Binding*>(m);
    guarded(*b->owner, "response", [&] { b->owner->onResponse(*b, orq, sip); });
    return 0;
  }
  // Nothing arrives in a registration's "dialog" that we could take.
  static int request(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*) noexcept { return 481; }
  static void timer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
    auto* b = static_cast<TrunkRegistrations::Binding*>(arg);
    guarded(*b->owner, "timer", [&] { b->owner->attempt(*b); });
  }
  static void expiry(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
    auto* b = static_cast<TrunkRegistrations::Binding*>(arg);
    guarded(*b->owner, "expiry", [&] { b->owner->lapsed(*b); });
  }
};

// ---- life -------------------------------------------------------------------------

TrunkRegistrations::TrunkRegistrations(su_root_t* root, nta_agent_t* agent, const config::Config& config,
                                       std::string userAgent)
    : root_(root), agent_(agent), userAgent_(std::move(userAgent)), listen_(config.sip.listen) {
  applyConfig(config);
}

TrunkRegistrations::~TrunkRegistrations() {
  bindings_.clear();
  graveyard_.clear();
  for (auto* o : orqGraveyard_) nta_outgoing_destroy(o);
}

void TrunkRegistrations::exit() {
  if (--depth_ > 0) return;
  graveyard_.clear();
  for (auto* o : orqGraveyard_) nta_outgoing_destroy(o);
  orqGraveyard_.clear();
}

void TrunkRegistrations::retire(Binding& b) {
  auto it = std::find_if(bindings_.begin(), bindings_.end(), [&](const auto& p) { return p.get() == &b; });
  if (it == bindings_.end()) return;
  // Stopped, not destroyed: this may run inside one of their callbacks.
  su_timer_reset((*it)->timer.get());
  su_timer_reset((*it)->expiry.get());
  graveyard_.push_back(std::move(*it));
  bindings_.erase(it);
}

void TrunkRegistrations::setSink(Sink sink) {
  sink_ = std::move(sink);
  if (sink_)
    for (const auto& r : reported_) sink_(r);
}

size_t TrunkRegistrations::unregistering() const {
  return static_cast<size_t>(
      std::count_if(bindings_.begin(), bindings_.end(), [](const auto& b) { return b->leaving; }));
}

std::vector<TrunkRegistrationState> TrunkRegistrations::states() const {
  std::vector<TrunkRegistrationState> out;
  for (const auto& b : bindings_) {
    if (b->leaving) continue;
    TrunkRegistrationState s{b->cfg.name, false, 0};
    for (const auto& r : reported_)
      if (r.trunk == s.trunk) s = r;
    out.push_back(s);
  }
  return out;
}

void TrunkRegistrations::applyConfig(const config::Config& config) {
  enter();
  std::vector<Binding*> kept;
  for (const auto& t : config.trunks) {
    if (!registers(t) || stopped_) continue;
    Binding* old = nullptr;
    for (auto& b : bindings_)
      if (!b->leaving && b->cfg.name == t.name) old = b.get();
    if (old && sameBinding(old->cfg, t)) {
      const bool password = old->cfg.registration->password != t.registration->password;
      const bool changed = password || old->cfg.registration->expires != t.registration->expires;
      old->cfg = t;
      if (changed) {
        // The same address-of-record and Contact: re-REGISTER in place with the
        // new credentials or expiry, at once and with the back-off forgotten.
        // A new password forgets the answers made with the old one.
        SB_INFO("trunks", "trunk %s: register block changed, registering again", t.name.c_str());
        if (password) old->auth = TrunkAuth::forTrunk(t);
        old->expires = t.registration->expires;
        old->backoffMs = 0;
        attempt(*old);
      }
      kept.push_back(old);
      continue;
    }
    if (old) {
      SB_INFO("trunks", "trunk %s: registration moves, unregistering the old binding", t.name.c_str());
      leave(*old);
    }
    if (Binding* b = start(t)) kept.push_back(b);
  }
  // Trunks that no longer register (or are gone): their bindings are given up.
  std::vector<Binding*> gone;
  for (auto& b : bindings_)
    if (!b->leaving && std::find(kept.begin(), kept.end(), b.get()) == kept.end()) gone.push_back(b.get());
  for (Binding* b : gone) {
    const std::string name = b->cfg.name;
    leave(*b);
    SB_INFO("trunks", "trunk %s: no longer registers", name.c_str());
  }
  exit();
}

TrunkRegistrations::Binding* TrunkRegistrations::start(const config::Trunk& t) {
  auto b = std::make_unique<Binding>();
  b->owner = this;
  b->cfg = t;
  b->auth = TrunkAuth::forTrunk(t);
  b->expires = t.registration->expires;
  const std::string host = hostOf(t.address);
  b->aor = "<sip:" + t.registration->username + "@" + host + ">";
  b->requestUri = "sip:" + host + ":" + std::to_string(t.address.port) + (t.transport == "tcp" ? ";transport=tcp" : "");
  b->contact = contactFor(t);
  b->leg = nta_leg_tcreate(agent_, &RegistrationCallbacks::request, nullptr, SIPTAG_FROM_STR(b->aor.c_str()),
                           SIPTAG_TO_STR(b->aor.c_str()), TAG_END());
  b->timer.reset(su_timer_create(su_root_task(root_), 0));
  b->expiry.reset(su_timer_create(su_root_task(root_), 0));
  if (!b->leg || !nta_leg_tag(b->leg, nullptr) || !b->timer || !b->expiry) {
    SB_ERROR("trunks", "trunk %s: cannot create its registration", t.name.c_str());
    return nullptr;
  }
  Binding& ref = *b;
  bindings_.push_back(std::move(b));
  SB_INFO("trunks", "trunk %s: registering %s at %s", t.name.c_str(), ref.aor.c_str(), ref.requestUri.c_str());
  attempt(ref);
  return &ref;
}

// Our address on the trunk's transport: the sip.listen entry of that transport
// (the first one when none matches); a wildcard host is replaced by the
// address nta's first transport advertises.
std::string TrunkRegistrations::contactFor(const config::Trunk& t) const {
  const config::ListenAddr* pick = nullptr;
  for (const auto& l : listen_)
    if (!pick && l.transport == t.transport) pick = &l;
  if (!pick && !listen_.empty()) pick = &listen_.front();
  std::string host = pick ? hostOf(pick->where) : std::string();
  std::string port = pick ? std::to_string(pick->where.port) : std::string();
  if (!pick || pick->where.host == "0.0.0.0" || pick->where.host == "::") {
    const sip_contact_t* own = nta_agent_contact(agent_);
    if (own && own->m_url->url_host) {
      host = own->m_url->url_host;
      if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
      if (!pick && own->m_url->url_port) port = own->m_url->url_port;
    }
  }
  std::string uri = "sip:" + t.registration->username + "@" + host + (port.empty() ? "" : ":" + port);
  if (pick && pick->transport == "tcp") uri += ";transport=tcp";
  return "<" + uri + ">";
}

// ---- the REGISTER transactions --------------------------------------------------------

void TrunkRegistrations::attempt(Binding& b) {
  if (b.leaving) return;
  b.intervalRaised = false;
  if (b.backoffMs == 0) {
    send(b, b.auth.again("REGISTER", b.requestUri));
  } else {
    // After a failure, no credentials up front: they may be the reason.
    b.auth.restart();
    send(b, {});
  }
}

void TrunkRegistrations::send(Binding& b, const std::string& authLines) {
  if (b.orq) {
    // A REGISTER still in flight is superseded (CSeq order keeps the registrar
    // from applying it after this one, RFC 3261 §10.3 step 7).
    orqGraveyard_.push_back(std::exchange(b.orq, nullptr));
  }
  su_timer_reset(b.timer.get());  // nothing else is due until the answer
  const std::string expires = std::to_string(b.leaving ? 0 : b.expires);
  b.orq = nta_outgoing_tcreate(b.leg, &RegistrationCallbacks::response, reinterpret_cast<nta_outgoing_magic_t*>(&b),
                               nullptr, SIP_METHOD_REGISTER, URL_STRING_MAKE(b.requestUri.c_str()),
                               SIPTAG_CONTACT_STR(b.contact.c_str()), SIPTAG_EXPIRES_STR(expires.c_str()),
                               SIPTAG_USER_AGENT_STR(userAgent_.c_str()),
                               TAG_IF(!authLines.empty(), SIPTAG_HEADER_STR(authLines.c_str())), TAG_END());
  if (!b.orq) {
    SB_WARN("trunks", "trunk %s: cannot send REGISTER", b.cfg.name.c_str());
    if (b.leaving)
      retire(b);
    else
      failed(b, 503, nullptr);
  }
}

int TrunkRegistrations::onResponse(Binding& b, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = nta_outgoing_status(orq);
  if (status < 200 || orq != b.orq) return 0;
  orqGraveyard_.push_back(std::exchange(b.orq, nullptr));  // released once this callback returns
  if ((status == 401 || status == 407) && sip && !nta_sip_is_internal(sip)) {
    if (auto lines = b.auth.answer(sip, "REGISTER", b.requestUri)) {
      send(b, *lines);
      return 0;
    }
  }
  if (b.leaving) {
    SB_INFO("trunks", "trunk %s: unREGISTER answered %d", b.cfg.name.c_str(), status);
    retire(b);
    return 0;
  }
  if (status == 423 && sip && sip->sip_min_expires && !b.intervalRaised &&
      sip->sip_min_expires->me_delta > static_cast<unsigned long>(b.expires) &&
      sip->sip_min_expires->me_delta <= 86400) {
    // RFC 3261 §10.2.8: the registrar wants a longer interval; ask for it.
    b.expires = static_cast<int>(sip->sip_min_expires->me_delta);
    b.intervalRaised = true;
    send(b, b.auth.again("REGISTER", b.requestUri));
    return 0;
  }
  if (status < 300)
    succeeded(b, sip, status);
  else
    failed(b, status, sip);
  return 0;
}

void TrunkRegistrations::succeeded(Binding& b, const sip_t* sip, int status) {
  // RFC 3261 §10.2.4: the expiry granted is our Contact's expires parameter in
  // the 200, else the Expires header, else what we asked for.
  long granted = -1;
  Home home;
  const sip_contact_t* ours = sip_contact_make(home.get(), b.contact.c_str());
  for (const sip_contact_t* m = sip ? sip->sip_contact : nullptr; m && ours && granted < 0; m = m->m_next)
    if (url_cmp(m->m_url, ours->m_url) == 0 && m->m_expires) granted = std::strtol(m->m_expires, nullptr, 10);
  if (granted < 0 && sip && sip->sip_expires) granted = static_cast<long>(sip->sip_expires->ex_delta);
  if (granted < 0) granted = b.expires;
  if (granted <= 0) {
    // Accepted, yet no binding of ours kept: nothing to refresh.
    SB_WARN("trunks", "trunk %s: REGISTER accepted with expiry 0", b.cfg.name.c_str());
    failed(b, status, sip);
    return;
  }
  b.registered = true;
  b.backoffMs = 0;
  report(b, true, status);
  // Half the granted time, so a lost refresh can still be retried before the
  // binding lapses; never sooner than a second.
  arm(b, std::max<int64_t>(1000, granted * 1000 / 2));
  su_timer_set_interval(b.expiry.get(), &RegistrationCallbacks::expiry, reinterpret_cast<su_timer_arg_t*>(&b),
                        static_cast<su_duration_t>(granted * 1000));
}

void TrunkRegistrations::failed(Binding& b, int status, const sip_t* sip) {
  b.registered = false;
  su_timer_reset(b.expiry.get());
  report(b, false, status);
  b.backoffMs = b.backoffMs == 0 ? kFirstRetryMs : std::min(kMaxRetryMs, b.backoffMs * 2);
  int64_t delay = b.backoffMs;
  // A registrar that names when to come back (RFC 3261 §20.33) is believed, up to the cap.
  if (sip && sip->sip_retry_after)
    delay =
        std::max(delay, std::min<int64_t>(kMaxRetryMs, static_cast<int64_t>(sip->sip_retry_after->af_delta) * 1000));
  SB_WARN("trunks", "trunk %s: REGISTER failed with %d; retrying in %lld s", b.cfg.name.c_str(), status,
          static_cast<long long>(delay / 1000));
  arm(b, delay);
}

void TrunkRegistrations::lapsed(Binding& b) {
  // The granted time ran out with the refresh unanswered (it may still be
  // retransmitting; its own timeout or answer decides what comes next).
  if (!b.registered) return;
  b.registered = false;
  SB_WARN("trunks", "trunk %s: registration lapsed unrefreshed", b.cfg.name.c_str());
  report(b, false, 408);
}

void TrunkRegistrations::arm(Binding& b, int64_t ms) {
  if (!b.timer) return;
  su_timer_set_interval(b.timer.get(), &RegistrationCallbacks::timer, reinterpret_cast<su_timer_arg_t*>(&b),
                        static_cast<su_duration_t>(ms));
}

void TrunkRegistrations::report(Binding& b, bool registered, int code) {
  auto it = std::find_if(reported_.begin(), reported_.end(), [&](const auto& r) { return r.trunk == b.cfg.name; });
  if (it == reported_.end()) it = reported_.insert(reported_.end(), TrunkRegistrationState{b.cfg.name, false, 0});
  if (it->registered == registered && it->code == code) return;
  it->registered = registered;
  it->code = code;
  SB_INFO("trunks", "trunk %s: %s (%d)", b.cfg.name.c_str(), registered ? "registered" : "not registered", code);
  if (sink_) sink_(*it);
}

// ---- ending bindings ----------------------------------------------------------------

void TrunkRegistrations::leave(Binding& b) {
  if (b.leaving) return;
  report(b, false, 0);
  su_timer_reset(b.timer.get());
  su_timer_reset(b.expiry.get());
  const bool held = b.registered || b.orq;  // a REGISTER in flight may be accepted yet
  b.registered = false;
  b.leaving = true;
  if (!held) {
    retire(b);
    return;
  }
  // RFC 3261 §10.2.2: Expires 0 removes our Contact; the credentials of the
  // last challenge go along, so a registrar that challenges every request
  // usually accepts it in one round.
  send(b, b.auth.again("REGISTER", b.requestUri));
}

void TrunkRegistrations::unregisterAll() {
  enter();
  stopped_ = true;
  std::vector<Binding*> all;
  for (auto& b : bindings_)
    if (!b->leaving) all.push_back(b.get());
  for (Binding* b : all) leave(*b);
  exit();
}

}  // namespace sb::sip
