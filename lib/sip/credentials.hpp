#pragma once
// Each extension's digest secrets, precomputed per algorithm at configuration
// time: password gives every algorithm, ha1 only MD5, ha1Sha256 only SHA-256
// (RFC 7616 §3.4.2). Unknown users get a random stand-in secret, so checking their
// response costs the same as checking a real one (same timing class).
#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "sip/digest.hpp"

namespace sb::sip {

class CredentialBook {
 public:
  CredentialBook(const std::vector<config::Extension>& extensions, const std::string& realm);

  bool known(const std::string& user) const { return ha1_.find(user) != ha1_.end(); }
  // The HA1 to check `user`'s response with; for an unknown user or an algorithm
  // the user has no secret for, the stand-in (which never matches).
  const std::string& ha1(const std::string& user, DigestAlgorithm a) const;
  // Whether `user` can answer a challenge of this algorithm. Unknown users: yes,
  // so their challenge looks like a password extension's.
  bool supports(const std::string& user, DigestAlgorithm a) const;

 private:
  // One HA1 per algorithm, indexed by DigestAlgorithm; empty when the extension
  // has no secret for it. Hashed, as every authenticated REGISTER looks a user up
  // three times (a tree of 1000 users was 2 % of the SIP thread in bench/register).
  using Secrets = std::array<std::string, 3>;
  static_assert(static_cast<size_t>(DigestAlgorithm::sha512_256) == 2, "one slot per DigestAlgorithm");
  static size_t slot(DigestAlgorithm a) { return static_cast<size_t>(a); }
  std::unordered_map<std::string, Secrets> ha1_;
  Secrets standIn_;
};

}  // namespace sb::sip
