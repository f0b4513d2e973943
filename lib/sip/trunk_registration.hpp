#pragma once
// Outbound registration to trunks (RFC 3261 §10): a trunk whose
// `register.username` is set gets a REGISTER binding there, kept up for as long
// as the daemon runs.
//
// - To and From are sip:USERNAME@TRUNK-HOST (the address-of-record), the
//   Request-URI the trunk's address (§10.2: no user part), Contact seatbridge's
//   own address on the trunk's transport (the sip.listen entry of that
//   transport), Expires `register.expires`. One Call-ID per binding for the
//   life of the process, CSeq one higher each time (§10.2.4).
// - 401/407 are answered with the trunk's credentials (trunk_auth.hpp: MD5 or
//   SHA-256 digest; a realm refused twice is a failure). 423 raises Expires to
//   the Min-Expires asked for, once (§10.2.8).
// - The binding is refreshed at half the expiry the trunk granted (our
//   Contact's expires parameter in the 200, else its Expires header, else what
//   we asked for: §10.2.4), at least a second ahead. Refreshes reuse the last
//   challenge's answer (§22.3), so a refresh is usually one transaction.
// - A failure (no answer, 403, 5xx, a 401 that keeps coming: wrong
//   credentials) is retried after a back-off: 5 s, doubling to 300 s, reset by
//   a success; a longer Retry-After is honoured up to the cap.
// - Registered means: the last REGISTER was accepted and its expiry has not
//   passed. A failed refresh reports "not registered" at once; a refresh that
//   gets no answer at all does when the binding lapses (reported with 408).
// - A reload that changes a trunk's register block, address or transport
//   restarts its binding (a new REGISTER at once; a new address-of-record or
//   Contact unREGISTERs the old binding first). unregisterAll() (drain,
//   shutdown) sends Expires: 0 for every binding held, best effort.
//
// State changes go to the sink (the daemon turns them into
// seatbridge_trunk_registered{trunk} and the trunkRegistrationChanged event).
// SIP thread only. Every Sofia callback is a noexcept trampoline; bindings and
// transactions are released only after the callback that ended them returned.
#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace sb::sip {

namespace event {
// The gateway event this module causes (docs/PROTOCOL.md). Emitted by the SIP
// layer's wiring, not by core/: registration is a fact of the wire that the
// agent model does not act on.
inline constexpr std::string_view trunkRegistrationChanged = "trunkRegistrationChanged";
}  // namespace event

struct TrunkRegistrationState {
  std::string trunk;
  bool registered = false;
  // The status that decided it: 200 (accepted), the trunk's refusal (401, 403,
  // 404, 5xx, ...), 408 (no answer, or the binding lapsed unrefreshed), 0 when
  // nothing has been decided yet or the binding was given up on purpose
  // (removed from the configuration, or the daemon is stopping).
  int code = 0;
};

class TrunkRegistrations {
 public:
  using Sink = std::function<void(const TrunkRegistrationState&)>;
  struct Binding;

  TrunkRegistrations(su_root_t* root, nta_agent_t* agent, const config::Config& config, std::string userAgent);
  ~TrunkRegistrations();
  TrunkRegistrations(const TrunkRegistrations&) = delete;
  TrunkRegistrations& operator=(const TrunkRegistrations&) = delete;

  // Called on every change of a trunk's (registered, code); setting it first
  // replays the changes that came before (the first answer may beat the
  // daemon's wiring).
  void setSink(Sink sink);
  // Starts, restarts or ends bindings as the trunks' register blocks say.
  void applyConfig(const config::Config& config);
  // Drain and shutdown: Expires 0 for every binding held; no refresh or retry
  // afterwards, and applyConfig starts nothing new.
  void unregisterAll();
  // unREGISTERs still waiting for their answer.
  size_t unregistering() const;
  // Every configured binding's current state, in configuration order.
  std::vector<TrunkRegistrationState> states() const;

  // Back-off bounds (documented in docs/OPERATIONS.md).
  static constexpr int64_t kFirstRetryMs = 5'000;
  static constexpr int64_t kMaxRetryMs = 300'000;

 private:
  friend struct RegistrationCallbacks;
  Binding* start(const config::Trunk& trunk);
  void send(Binding& b, const std::string& authLines);
  void attempt(Binding& b);
  void leave(Binding& b);
  int onResponse(Binding& b, nta_outgoing_t* orq, const sip_t* sip);
  void succeeded(Binding& b, const sip_t* sip, int status);
  void failed(Binding& b, int status, const sip_t* sip);
  void lapsed(Binding& b);
  void report(Binding& b, bool registered, int code);
  void arm(Binding& b, int64_t ms);
  void retire(Binding& b);
  void enter() { ++depth_; }
  void exit();
  std::string contactFor(const config::Trunk& trunk) const;

  su_root_t* root_;
  nta_agent_t* agent_;
  std::string userAgent_;
  std::vector<config::ListenAddr> listen_;
  std::vector<std::unique_ptr<Binding>> bindings_;  // active ones and ones leaving
  std::vector<TrunkRegistrationState> reported_;    // the last state each trunk's sink saw
  std::vector<std::unique_ptr<Binding>> graveyard_;
  std::vector<nta_outgoing_t*> orqGraveyard_;
  Sink sink_;
  bool stopped_ = false;
  int depth_ = 0;
};

}  // namespace sb::sip
