#pragma once
// Which clients must be challenged with MD5 alone.
//
// RFC 8760 §2.4 lists challenges by preference (SHA-256 first by default) and
// §2.3 has a client answer the topmost one it supports. Older MD5-only clients
// give up on any challenge list that holds an algorithm they do not know:
// baresip 1.0 with libre 1.1 (Debian 12) fails with ENOSYS whether MD5 comes
// first or not. (SIPp 3.6 is handled by the spacing in Registrar::challenge.)
// Such a client shows itself by coming back unauthenticated after a challenge it
// could not answer; from then on, challenges to that client (extension and
// source address) offer MD5 alone, if MD5 is configured. A client that answers
// is never marked, so compliant phones keep SHA-256. Bounded and pure.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace sb::sip {

class AlgorithmHints {
 public:
  explicit AlgorithmHints(size_t capacity = 65536) : capacity_(capacity) {}
  // A challenge with a non-MD5 algorithm on top went to `client`.
  void challenged(const std::string& client, int64_t nowMs);
  // `client` sent a REGISTER without credentials for us; true if it should now
  // get MD5 alone (it ignored a recent challenge, or was marked before).
  bool wantsMd5Only(const std::string& client, int64_t nowMs);
  // `client` answered a challenge: it copes with the order it got.
  void answered(const std::string& client);
  void sweep(int64_t nowMs);

  static constexpr int64_t kUnansweredMs = 600'000;  // a retry within this counts
  static constexpr int64_t kMarkMs = 86'400'000;     // how long a mark lasts

 private:
  std::unordered_map<std::string, int64_t> pending_;  // client -> when challenged
  std::unordered_map<std::string, int64_t> marked_;   // client -> mark expiry
  size_t capacity_;
};

}  // namespace sb::sip
