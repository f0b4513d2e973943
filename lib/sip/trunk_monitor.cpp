#include "sip/trunk_monitor.hpp"

#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "sip/options_probe.hpp"
#include "sip/trunk_registration.hpp"

namespace sb::sip {
namespace {
constexpr int kMissesForDown = 2;
}  // namespace

TrunkMonitor::TrunkMonitor(su_root_t* root, nta_agent_t* agent, const config::Config& config, std::string userAgent)
    : agent_(agent), userAgent_(userAgent), prefix_("sbtp-" + randomHex(6) + "-") {
  applyPings(config);
  timer_.reset(su_timer_create(su_root_task(root), 250));
  if (timer_) su_timer_set_for_ever(timer_.get(), &TrunkMonitor::onTimer, reinterpret_cast<su_timer_arg_t*>(this));
  registrations_ = std::make_unique<TrunkRegistrations>(root, agent, config, std::move(userAgent));
}

TrunkMonitor::~TrunkMonitor() = default;

void TrunkMonitor::applyConfig(const config::Config& config) {
  applyPings(config);
  registrations_->applyConfig(config);
}

void TrunkMonitor::applyPings(const config::Config& config) {
  domain_ = config.sip.domain;
  std::vector<Trunk> next;
  for (const auto& cfg : config.trunks) {
    Trunk t;
    t.cfg = cfg;
    for (const auto& old : trunks_)
      if (old.cfg.name == cfg.name) t.up = old.up;
    next.push_back(std::move(t));
  }
  trunks_ = std::move(next);
}

std::optional<bool> TrunkMonitor::up(const std::string& trunk) const {
  for (const auto& t : trunks_)
    if (t.cfg.name == trunk) return t.up;
  return std::nullopt;
}

void TrunkMonitor::onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  try {
    reinterpret_cast<TrunkMonitor*>(arg)->tick();
  } catch (const std::exception& e) {
    SB_ERROR("trunks", "ping failed: %s", e.what());
  }
}

void TrunkMonitor::set(Trunk& t, bool up) {
  if (t.up == up) return;
  t.up = up;
  SB_INFO("trunks", "trunk %s is %s", t.cfg.name.c_str(), up ? "up" : "down");
  if (sink_) sink_(t.cfg.name, up);
}

void TrunkMonitor::tick() {
  const int64_t now = monotonicNow().ms;
  for (size_t i = 0; i < trunks_.size(); ++i) {
    Trunk& t = trunks_[i];
    if (t.cfg.pingSeconds <= 0 || now < t.nextPingMs) continue;
    if (t.outstanding && ++t.misses >= kMissesForDown) set(t, false);
    const std::string host = t.cfg.address.ipv6 ? "[" + t.cfg.address.host + "]" : t.cfg.address.host;
    const std::string uri = "sip:" + host + ":" + std::to_string(t.cfg.address.port) + ";transport=" + t.cfg.transport;
    const std::string callId = prefix_ + std::to_string(i) + "-" + randomHex(4);
    if (!sendOptionsProbe(agent_, uri, {}, callId, domain_, userAgent_))
      SB_DEBUG("trunks", "ping to %s failed to send", t.cfg.name.c_str());
    t.outstanding = true;
    t.nextPingMs = now + t.cfg.pingSeconds * 1000LL;
  }
}

bool TrunkMonitor::handleResponse(msg_t* msg, const sip_t* sip) {
  if (!sip->sip_call_id || !sip->sip_call_id->i_id) return false;
  const std::string callId = sip->sip_call_id->i_id;
  if (callId.compare(0, prefix_.size(), prefix_) != 0) return false;
  const size_t index = std::strtoul(callId.c_str() + prefix_.size(), nullptr, 10);
  if (sip->sip_status && sip->sip_status->st_status >= 200 && index < trunks_.size()) {
    Trunk& t = trunks_[index];
    t.outstanding = false;
    t.misses = 0;
    set(t, true);
  }
  nta_msg_discard(agent_, msg);
  return true;
}

}  // namespace sb::sip
