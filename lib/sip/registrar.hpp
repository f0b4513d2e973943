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
#include <unordered_set>
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
  using Authorization = DigestAuthorization;
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

// A new INVITE (no To tag) from a source that is no trunk, as far as the
// registrar looks at it: only a desk phone, authenticated as the extension in
// From (RFC 3261 §22.3), may place a call (see Registrar::authorizeCall).
struct CallRequest {
  std::string fromUser;  // the extension the caller claims to be
  std::string source;    // "udp:203.0.113.5:5062"
  std::string sourceIp;  // "203.0.113.5"
  std::string callId;
  uint32_t cseq = 0;
  // What else a retransmission repeats (see the fingerprint in registrar.cpp).
  std::string requestUri, toUri, body;
  std::vector<DigestAuthorization> authorizations;  // from Proxy-Authorization
};

struct CallReply {
  enum class Outcome {
    drop,          // banned source: send nothing
    refuse,        // answer status/phrase, count refusal
    challenge,     // 407 with challenges
    authenticated  // the caller is `extension`: the call may go on
  };
  Outcome outcome = Outcome::refuse;
  int status = 0;
  std::string phrase;
  std::vector<std::string> challenges;  // Proxy-Authenticate values, preferred first
  std::string refusal;                  // seatbridge_calls_refused_total{reason}
  bool authFailure = false;             // counted in seatbridge_auth_failures_total
  std::string extension;
};

// "udp:203.0.113.5:5062" -> "203.0.113.5", "tcp:[2001:db8::1]:5060" -> "2001:db8::1"
// (the form of RegisterRequest::sourceIp); empty for anything else.
std::string sourceHost(std::string_view source);

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
  // A new INVITE from outside the trunks (registrar_calls.cpp): refused unless
  // its source address holds a binding, challenged (407) until it carries
  // credentials of the extension in From, with the nonces, failure count and
  // ban of REGISTER.
  CallReply authorizeCall(const CallRequest& r, Now now);

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
  // RFC 7616 §3.4 for any method: `request` is the text that makes this request
  // this very one (a retransmission repeats it, see fingerprint()).
  AuthResult authenticate(const std::vector<DigestAuthorization>& auths, std::string_view method,
                          const std::string& request, int64_t monoMs, std::string& user);
  // One challenge per algorithm `user` can answer (RFC 8760 §2.4), one nonce.
  std::vector<std::string> challenges(const std::string& user, bool stale, int64_t monoMs, bool md5Only);
  RegisterReply challenge(const std::string& user, bool stale, int64_t monoMs, bool md5Only = false);
  // Counts a failed authentication from `ip` toward its ban (logged when it starts).
  void failed(const std::string& ip, int64_t monoMs);
  CallReply callChallenge(const std::string& user, bool stale, int64_t monoMs, bool md5Only);
  // Whether some current binding was registered from `ip` (any port, any transport).
  bool boundSource(const std::string& ip, int64_t wallMs);
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
  // The source addresses of the bindings, for boundSource(): an address is added
  // as it binds; removals mark the set stale and the next query rebuilds it, as
  // does a query after each 10 s sweep (expiry and moves are not reported one
  // by one). An address may so linger up to 10 s: its INVITEs are challenged,
  // never accepted, for that long.
  std::unordered_set<std::string> boundIps_;
  bool boundIpsStale_ = true;
};

RegisterReply makeReply(int status, const char* phrase);

}  // namespace sb::sip
