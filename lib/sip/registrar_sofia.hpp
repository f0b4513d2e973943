#pragma once
// The thin Sofia-SIP side of the registrar: turns a REGISTER from nta's stateless
// callback into a RegisterRequest, answers with nta_msg_treply (no server
// transaction, so nothing is held for Timer J and a retransmission is simply
// answered again), sends the NAT keepalive OPTIONS statelessly and matches their
// answers by Call-ID, and once a second expires bindings and writes the changed
// ones to the store in one transaction (never on the request path).
#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sip/registrar.hpp"
#include "sip/sofia.hpp"

namespace sb::metrics {
class Metrics;
}
namespace sb::store {
class Store;
}

namespace sb::sip {

class SofiaRegistrar {
 public:
  SofiaRegistrar(su_root_t* root, nta_agent_t* agent, const config::Config& cfg, metrics::Metrics& metrics,
                 store::Store* store, std::string serverHeader);
  ~SofiaRegistrar();
  SofiaRegistrar(const SofiaRegistrar&) = delete;
  SofiaRegistrar& operator=(const SofiaRegistrar&) = delete;

  // Takes ownership of msg.
  void handleRegister(msg_t* msg, sip_t* sip);
  // True (and msg consumed) when the response answers one of our keepalives.
  bool handleResponse(msg_t* msg, sip_t* sip);
  // True (and msg consumed, counted) when the source is banned.
  bool dropBanned(msg_t* msg);
  // A new INVITE from a source that is no trunk (Registrar::authorizeCall):
  // the authenticated extension, msg left to the caller; otherwise msg has been
  // answered (403, 407) or dropped, and counted, and the result is empty.
  std::optional<std::string> authenticateCaller(msg_t* msg, sip_t* sip);

  void applyConfig(const config::Config& cfg);
  void setFactSink(Registrar::FactSink sink);
  std::vector<core::ContactInfo> contacts(const std::string& extension) const;
  // Writes pending binding changes now (also done once a second and on exit).
  void flush();

 private:
  static void onTimer(su_root_magic_t* magic, su_timer_t* t, su_timer_arg_t* arg) noexcept;
  void tick();
  void restore();
  void sendProbe(const Probe& p);
  void countParserErrors();
  void reply(msg_t* msg, const RegisterReply& r);
  void reply(msg_t* msg, const CallReply& r);
  void updateGauges();

  nta_agent_t* agent_;
  metrics::Metrics& metrics_;
  store::Store* store_;
  std::string server_;
  Home home_;                         // owns serverHeader_
  sip_server_t* serverHeader_ = nullptr;  // parsed once: each answer copies it
  std::string realm_;
  int keepaliveSeconds_;
  Registrar engine_;
  TimerPtr timer_;
  std::string probePrefix_;  // Call-ID prefix of our keepalives
  uint64_t lastBadMessages_ = 0;
};

}  // namespace sb::sip
