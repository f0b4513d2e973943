#include "sip/nonce.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "sip/digest.hpp"

namespace sb::sip {
namespace {

constexpr size_t kPayload = 12;  // 8 bytes time, 4 bytes counter
constexpr size_t kMac = 12;
constexpr size_t kHexLen = (kPayload + kMac) * 2;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is never issued
}

void toHex(const unsigned char* p, size_t n, std::string& out) {
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out.push_back(hex[p[i] >> 4]);
    out.push_back(hex[p[i] & 15]);
  }
}

bool fromHex(std::string_view s, unsigned char* out) {
  for (size_t i = 0; i < s.size() / 2; ++i) {
    const int hi = hexValue(s[2 * i]), lo = hexValue(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

void NonceService::MacFree::operator()(evp_mac_ctx_st* c) const { EVP_MAC_CTX_free(c); }

NonceService::NonceService(int64_t lifetimeMs) : lifetimeMs_(lifetimeMs) {
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1)
    throw std::runtime_error("cannot draw a random nonce secret");
  RAND_bytes(reinterpret_cast<unsigned char*>(&counter_), sizeof counter_);
  keyMac();
}

NonceService::NonceService(int64_t lifetimeMs, const Secret& secret) : lifetimeMs_(lifetimeMs), secret_(secret) {
  keyMac();
}

void NonceService::keyMac() {
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!hmac) throw std::runtime_error("OpenSSL has no HMAC");
  mac_.reset(EVP_MAC_CTX_new(hmac));
  EVP_MAC_free(hmac);  // the context keeps its own reference
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!mac_ || EVP_MAC_init(mac_.get(), secret_.data(), secret_.size(), params) != 1)
    throw std::runtime_error("cannot key the nonce HMAC");
}

std::array<unsigned char, kMac> NonceService::mac(const unsigned char* payload, size_t n) const {
  unsigned char full[EVP_MAX_MD_SIZE];
  size_t len = 0;
  std::array<unsigned char, kMac> out{};
  // A null key restarts the MAC with the key given in keyMac() (OpenSSL 3 EVP_MAC_init).
  // On failure the all-zero MAC verifies no nonce: the phone is challenged again.
  if (EVP_MAC_init(mac_.get(), nullptr, 0, nullptr) != 1 || EVP_MAC_update(mac_.get(), payload, n) != 1 ||
      EVP_MAC_final(mac_.get(), full, &len, sizeof full) != 1 || len < kMac)
    return out;
  for (size_t i = 0; i < kMac; ++i) out[i] = full[i];
  return out;
}

std::string NonceService::issue(int64_t nowMs) {
  unsigned char p[kPayload];
  const auto t = static_cast<uint64_t>(nowMs);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(t >> (56 - 8 * i));
  const uint32_t c = ++counter_;
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<unsigned char>(c >> (24 - 8 * i));
  const auto m = mac(p, kPayload);
  std::string out;
  out.reserve(kHexLen);
  toHex(p, kPayload, out);
  toHex(m.data(), m.size(), out);
  return out;
}

NonceService::Check NonceService::check(std::string_view nonce, int64_t nowMs) const {
  Check r;
  unsigned char raw[kPayload + kMac];
  if (nonce.size() != kHexLen || !fromHex(nonce, raw)) return r;
  const auto m = mac(raw, kPayload);
  if (!constantTimeEqual(std::string_view(reinterpret_cast<const char*>(m.data()), kMac),
                         std::string_view(reinterpret_cast<const char*>(raw + kPayload), kMac)))
    return r;
  uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = t << 8 | raw[i];
  r.issuedMs = static_cast<int64_t>(t);
  // A nonce from the future is as stale as an old one: the clock moved back.
  r.verdict = (r.issuedMs > nowMs || nowMs - r.issuedMs > lifetimeMs_) ? Verdict::stale : Verdict::valid;
  return r;
}

NonceCounter::Verdict NonceCounter::use(const std::string& nonce, uint32_t nc, uint64_t fingerprint) {
  auto it = entries_.find(nonce);
  if (it == entries_.end()) {
    if (!floor_.empty() && nonce <= floor_) return Verdict::untracked;
    while (entries_.size() >= capacity_ && !entries_.empty()) {
      floor_ = std::max(floor_, entries_.begin()->first);
      entries_.erase(entries_.begin());
    }
    if (!floor_.empty() && nonce <= floor_) return Verdict::untracked;
    entries_.emplace(nonce, Entry{nc, fingerprint});
    return Verdict::fresh;
  }
  Entry& e = it->second;
  if (nc > e.maxNc) {
    e = Entry{nc, fingerprint};
    return Verdict::fresh;
  }
  if (nc == e.maxNc && fingerprint == e.fingerprint) return Verdict::retransmission;
  return Verdict::replay;
}

void NonceCounter::forgetBefore(const std::string& cutoffNonce) {
  while (!entries_.empty() && entries_.begin()->first < cutoffNonce) entries_.erase(entries_.begin());
}

std::string nonceFloorFor(int64_t ms) {
  unsigned char p[8];
  const auto t = static_cast<uint64_t>(ms < 0 ? 0 : ms);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(t >> (56 - 8 * i));
  std::string out;
  toHex(p, 8, out);
  return out;  // a prefix sorts before every nonce that starts with it
}

std::optional<uint32_t> parseNonceCount(std::string_view nc) {
  if (nc.size() != 8) return std::nullopt;
  uint32_t v = 0;
  for (char ch : nc) {
    int d = hexValue(static_cast<char>(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch));
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  return v;
}

}  // namespace sb::sip
