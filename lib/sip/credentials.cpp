#include "sip/credentials.hpp"

#include <openssl/rand.h>

#include <cctype>

namespace sb::sip {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr DigestAlgorithm kAll[] = {DigestAlgorithm::md5, DigestAlgorithm::sha256, DigestAlgorithm::sha512_256};

}  // namespace

CredentialBook::CredentialBook(const std::vector<config::Extension>& extensions, const std::string& realm) {
  unsigned char noise[32];
  RAND_bytes(noise, sizeof noise);
  const std::string secret(reinterpret_cast<const char*>(noise), sizeof noise);
  for (auto a : kAll) standIn_[slot(a)] = digestHex(a, secret);
  ha1_.reserve(extensions.size());
  for (const auto& e : extensions) {
    auto& m = ha1_[e.id];
    if (!e.password.empty())
      for (auto a : kAll) m[slot(a)] = digestHa1(a, e.id, realm, e.password);
    if (!e.ha1.empty()) m[slot(DigestAlgorithm::md5)] = lower(e.ha1);
    if (!e.ha1Sha256.empty()) m[slot(DigestAlgorithm::sha256)] = lower(e.ha1Sha256);
  }
}

const std::string& CredentialBook::ha1(const std::string& user, DigestAlgorithm a) const {
  const auto u = ha1_.find(user);
  if (u != ha1_.end() && !u->second[slot(a)].empty()) return u->second[slot(a)];
  return standIn_[slot(a)];
}

bool CredentialBook::supports(const std::string& user, DigestAlgorithm a) const {
  const auto u = ha1_.find(user);
  return u == ha1_.end() || !u->second[slot(a)].empty();
}

}  // namespace sb::sip
