#pragma once
// The desk-phone registrar, Sofia-free: RFC 3261 §10.3 processing of one REGISTER
// (already parsed into plain data by the adapter, registrar_sofia.*) into one
// reply, digest authentication (RFC 3261 §22, RFC 7616, RFC 8760), the bindings,
// the NAT keepalive schedule, and the defences against scanners. It keeps no
// per-transaction state: the same request always gets an equivalent answer, so the
// adapter answers statelessly and a retransmission is simply processed again.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/device_facts.hpp"
#include "sip/algorithm_hints.hpp"
#include "sip/bindings.hpp"
#include "sip/credentials.hpp"
#include "sip/digest.hpp"
#include "sip/guard.hpp"
#include "sip/nonce.hpp"

namespace sb::sip {

struct RegisterRequest {
  std::string requestHost;  // host of the Request-URI
  std::string toUser, toHost;
  std::string callId;
  uint32_t cseq = 0;
  std::string source;    // "udp:203.0.113.5:5062"
  std::string sourceIp;  // "203.0.113.5"
  std::string userAgent;
  std::vector<std::string> require;  // option tags of Require (§10.3 step 2)
  std::optional<int64_t> expiresHeader;
  bool wildcard = false;  // a "Contact: *" was present
  struct Contact {
    std::string uri, key;
    std::optional<int64_t> expires;
  };
  std::vector<Contact> contacts;
  struct Authorization {
    DigestCredentials creds;
    bool uriMatches = false;  // the digest uri names the Request-URI (RFC 7616 §3.4.6)
  };
  std::vector<Authorization> authorizations;
  std::string malformed;  // set by the adapter: why this request is unusable (400)
};

struct RegisterReply {
  bool drop = false;  // banned source: send nothing
  int status = 0;
  std::string phrase;
  std::vector<std::string> challenges;  // WWW-Authenticate values, preferred first
  std::optional<int64_t> minExpires;    // 423 (§10.3 step 6)
  std::vector<std::string> unsupported; // 420 (§10.3 step 2)
  int retryAfter = 0;
  struct Contact {
    std::string uri;
    int64_t expires = 0;
  };
  std::vector<Contact> contacts;  // 200: every current binding (§10.3 step 8)
  std::string malformedReason;    // counted in seatbridge_sip_malformed_total
  bool authFailure = false;       // counted in seatbridge_auth_failures_total
};

struct Now {
  int64_t wallMs = 0;  // bindings' expiry (persisted, survives restarts)
  int64_t monoMs = 0;  // nonces, bans, rate limits
};

class Registrar {
 public:
  using FactSink = std::function<void(const core::DeviceFact&)>;
  static constexpr int64_t kNonceLifetimeMs = 300'000;
  static constexpr int kKeepaliveMisses = 3;
  static constexpr double kRatePerSecond = 50;
  static constexpr double kRateBurst = 100;

  explicit Registrar(const config::Config& cfg);
  // A reloaded configuration: credentials, limits, and bindings of extensions
  // that are no longer configured are dropped.
  void configure(const config::Config& cfg, Now now);

  RegisterReply handle(const RegisterRequest& r, Now now);

  // Facts go to `sink` on the SIP thread; setting it replays ExtensionRegistered
  // for every extension bound now (e.g. restored from the store).
  void setFactSink(FactSink sink, Now now);

  // Once a second: expiry, ban lifting, bookkeeping; returns the keepalives due.
  std::vector<Probe> tick(Now now);
  // An answer to a keepalive whose Call-ID ended in `tag` (keepaliveTag of the probe).
  void keepaliveAnswered(std::string_view tag);

  std::vector<core::ContactInfo> contacts(const std::string& extension, int64_t wallMs) const;
  BindingTable& table() { return table_; }
  size_t bannedSources() const { return guard_.bannedCount(); }
  // True while requests from `ip` are to be dropped (counts them for the log).
  bool banned(const std::string& ip, int64_t monoMs) { return guard_.banned(ip, monoMs); }
  const std::string& realm() const { return realm_; }

 private:
  enum class AuthResult { ok, retransmission, challenge, stale, failure };
  AuthResult authenticate(const RegisterRequest& r, int64_t monoMs, std::string& user);
  RegisterReply challenge(const std::string& user, bool stale, int64_t monoMs, bool md5Only = false);
  // `apply` false: answer with the current bindings and change nothing.
  RegisterReply bind(const RegisterRequest& r, Now now, bool apply = true);
  std::optional<RegisterReply> decideExpiries(const RegisterRequest& r, BindingUpdate& u) const;
  RegisterReply fail(const RegisterRequest& r, Now now);
  void report(const std::string& extension, bool hadBindings, int64_t wallMs, const char* reason);
  void emit(const core::DeviceFact& f);

  std::string realm_;
  config::Registrar limits_;
  config::Security security_;
  std::vector<DigestAlgorithm> algorithms_;
  CredentialBook credentials_;
  NonceService nonces_;
  NonceCounter counts_;
  SourceGuard guard_;
  RateLimiter rate_;
  AlgorithmHints hints_;
  BindingTable table_;
  FactSink sink_;
  int64_t lastSweepMs_ = 0;
};

RegisterReply makeReply(int status, const char* phrase);

}  // namespace sb::sip
