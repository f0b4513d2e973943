#pragma once
// Each extension's digest secrets, precomputed per algorithm at configuration
// time: password gives every algorithm, ha1 only MD5, ha1Sha256 only SHA-256
// (RFC 7616 §3.4.2). Unknown users get a random stand-in secret, so checking their
// response costs the same as checking a real one (same timing class).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sip/digest.hpp"

namespace sb::sip {

class CredentialBook {
 public:
  CredentialBook(const std::vector<config::Extension>& extensions, const std::string& realm);

  bool known(const std::string& user) const { return ha1_.count(user) != 0; }
  // The HA1 to check `user`'s response with; for an unknown user or an algorithm
  // the user has no secret for, the stand-in (which never matches).
  const std::string& ha1(const std::string& user, DigestAlgorithm a) const;
  // Whether `user` can answer a challenge of this algorithm. Unknown users: yes,
  // so their challenge looks like a password extension's.
  bool supports(const std::string& user, DigestAlgorithm a) const;

 private:
  std::map<std::string, std::map<DigestAlgorithm, std::string>> ha1_;
  std::map<DigestAlgorithm, std::string> standIn_;
};

}  // namespace sb::sip
