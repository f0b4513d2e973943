#pragma once
// The SIP front door on the SIP thread: one nta agent bound to every sip.listen
// address. Requests arrive through nta's stateless callback, so cheap requests
// (OPTIONS, and REGISTER later) are answered without a server transaction; methods
// that need one will create it with nta_incoming_create.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/device_facts.hpp"
#include "sip/sofia.hpp"

namespace sb::metrics {
class Metrics;
}
namespace sb::store {
class Store;
}
namespace sb::media {
class MediaEngine;
}

namespace sb::sip {

struct GatewayStatus {
  std::string version;
  int64_t startedAtMs = 0;
  bool draining = false;
  std::string configFile;
  std::vector<std::string> listen;
  size_t extensions = 0;
  size_t agents = 0;
  size_t skillGroups = 0;
  size_t trunks = 0;
};

class SofiaRegistrar;
class CallLegs;
class TrunkMonitor;

class SipServer {
 public:
  // `store` (may be null: nothing persists) keeps the registrar's bindings across
  // restarts; only the SIP thread touches it from then on.
  // `onSipThread` runs work on the SIP thread from another (the media
  // engine's reports); the work is skipped once the server is gone.
  using OnSipThread = std::function<bool(std::function<void(SipServer&)>)>;
  SipServer(su_root_t* root, std::shared_ptr<const config::Config> config, metrics::Metrics& metrics,
            store::Store* store = nullptr, OnSipThread onSipThread = {});
  ~SipServer();
  SipServer(const SipServer&) = delete;
  SipServer& operator=(const SipServer&) = delete;

  // A configuration that passed validation; listen addresses keep their old values
  // (the caller has already warned that they need a restart).
  void applyConfig(std::shared_ptr<const config::Config> config);
  // After SIGTERM: new INVITEs get 503 with Retry-After (RFC 3261 §21.5.4).
  void startDraining() { draining_ = true; }
  // Live call legs that a drain waits for.
  size_t activeCalls() const;
  // The B2BUA's legs (the host of core::Gateway wires its hooks).
  CallLegs& callLegs() { return *callLegs_; }
  TrunkMonitor& trunks() { return *trunks_; }
  GatewayStatus status() const;

  // Registrar facts (registered, unregistered, reachability) go to `sink` on this
  // thread. Setting it replays ExtensionRegistered for every extension bound now,
  // so bindings restored from the store reach whoever plugs in.
  void setDeviceFactSink(std::function<void(const core::DeviceFact&)> sink);
  // The extension's current bindings (for Gateway.listExtensions and routing).
  std::vector<core::ContactInfo> extensionContacts(const std::string& extensionId) const;

 private:
  static int onMessage(nta_agent_magic_t* self, nta_agent_t* agent, msg_t* msg, sip_t* sip) noexcept;
  void handle(msg_t* msg, sip_t* sip);
  bool dialsEmergency(const sip_t* sip) const;
  // Answers statelessly with our Server header and counts the response; extra
  // Sofia tags (SIPTAG_...) go in after it. Defined in sip_server.cpp, its only user.
  template <typename... Tags>
  void reply(msg_t* msg, const sip_t* sip, int status, const char* phrase, Tags... tags);

  std::shared_ptr<const config::Config> config_;
  metrics::Metrics& metrics_;
  AgentPtr agent_;
  std::unique_ptr<SofiaRegistrar> registrar_;  // after agent_: destroyed first
  // media.mode anchored: the engine (its own thread), outliving the legs that name its endpoints.
  std::unique_ptr<media::MediaEngine> media_;
  std::unique_ptr<CallLegs> callLegs_;         // after agent_ and media_: destroyed first
  std::unique_ptr<TrunkMonitor> trunks_;       // after agent_: destroyed first
  // Admission control per trunk (maxCallsPerSecond): a token bucket one second deep.
  struct Bucket {
    double tokens = 0;
    int64_t atMs = 0;
  };
  std::map<std::string, Bucket> buckets_;
  void handleInvite(msg_t* msg, sip_t* sip);
  bool refuseUnsupported(msg_t* msg, const sip_t* sip);
  bool admit(const config::Trunk& trunk, const char*& reason);
  bool draining_ = false;
  int64_t startedAtMs_;
};

}  // namespace sb::sip
