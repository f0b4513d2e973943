#pragma once
// Liveness of each trunk: an OPTIONS every `pingSeconds` (stateless, see
// options_probe.hpp). Any answer, even an error status, means the trunk is up (a
// PBX that answers 404 or 405 to OPTIONS is alive); two pings in a row without an
// answer mean down. Changes go to the sink, on the SIP thread.
//
// It also holds the trunks' outbound registrations (trunk_registration.hpp),
// the other thing seatbridge keeps up with each trunk, so the SIP server's
// configuration reloads reach both through applyConfig.
#include <sofia-sip/nta.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sip/sofia.hpp"

namespace sb::sip {

class TrunkRegistrations;

class TrunkMonitor {
 public:
  using Sink = std::function<void(const std::string& trunk, bool up)>;

  TrunkMonitor(su_root_t* root, nta_agent_t* agent, const config::Config& config, std::string userAgent);
  ~TrunkMonitor();
  void setSink(Sink sink) { sink_ = std::move(sink); }
  // Keeps the state of trunks that stay (by name); new ones start unknown.
  // Registrations are started, restarted or ended as their blocks changed.
  void applyConfig(const config::Config& config);
  TrunkRegistrations& registrations() { return *registrations_; }
  // True (and msg consumed) when the response answers one of our pings.
  bool handleResponse(msg_t* msg, const sip_t* sip);
  // The state of a trunk: nullopt while unknown (never pinged or not answered yet).
  std::optional<bool> up(const std::string& trunk) const;

 private:
  struct Trunk {
    config::Trunk cfg;
    std::optional<bool> up;
    int64_t nextPingMs = 0;
    bool outstanding = false;  // the last ping is still unanswered
    int misses = 0;
  };
  static void onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept;
  void applyPings(const config::Config& config);
  void tick();
  void set(Trunk& t, bool up);

  nta_agent_t* agent_;
  std::string userAgent_;
  std::string domain_;
  std::string prefix_;  // Call-ID prefix of our pings
  std::vector<Trunk> trunks_;
  Sink sink_;
  TimerPtr timer_;
  std::unique_ptr<TrunkRegistrations> registrations_;
};

}  // namespace sb::sip
