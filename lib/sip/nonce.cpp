#include "sip/nonce.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "common/ids.hpp"
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
  out += hexOf(std::string_view(reinterpret_cast<const char*>(p), n));
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

std::optional<NonceId> parseNonceId(std::string_view nonce) {
  unsigned char raw[kPayload + kMac];
  if (nonce.size() != kHexLen || !fromHex(nonce, raw)) return std::nullopt;
  NonceId id;
  for (size_t i = 0; i < 8; ++i) id.ms = id.ms << 8 | raw[i];
  for (size_t i = 8; i < kPayload; ++i) id.counter = id.counter << 8 | raw[i];
  return id;
}

void NonceCounter::User::removeAt(size_t i) {
  Slot& last = at(count() - 1);
  if (&at(i) != &last) at(i) = last;
  --more->used;
}

NonceCounter::Verdict NonceCounter::use(std::string_view user, std::string_view nonce, uint32_t nc,
                                        uint64_t fingerprint) {
  const auto id = parseNonceId(nonce);
  if (!id) return Verdict::untracked;
  auto u = users_.find(user);
  if (u == users_.end()) {
    // A first nonce of this extension: nothing of it is tracked yet, so only the
    // floor of extensions dropped by a reload can make it untracked.
    if (droppedFloor_ && *id <= *droppedFloor_) return Verdict::untracked;
    u = users_.emplace(std::string(user), User{}).first;
    u->second.first = {id->ms, fingerprint, id->counter, nc};
    return Verdict::fresh;
  }
  User& x = u->second;
  const size_t used = x.count();
  for (size_t i = 0; i < used; ++i) {
    Slot& s = x.at(i);
    if (s.id() != *id) continue;
    if (nc > s.maxNc) {  // RFC 7616 §3.3: nc increases for each use of the nonce
      s.maxNc = nc;
      s.fingerprint = fingerprint;
      return Verdict::fresh;
    }
    // The same count in the very same request is its retransmission (RFC 3261
    // §17.1.2.2); anything else with a count already used is a replay.
    if (nc == s.maxNc && fingerprint == s.fingerprint) return Verdict::retransmission;
    return Verdict::replay;
  }
  // Not tracked: at or below the floor it may have been used and evicted, so it
  // must not count as fresh.
  if (x.more && x.more->hasFloor && *id <= x.more->floor()) return Verdict::untracked;
  if (!x.more) x.more = std::make_unique<More>();
  if (used == kSlots) {
    size_t oldest = 0;
    for (size_t i = 1; i < used; ++i)
      if (x.at(i).id() < x.at(oldest).id()) oldest = i;
    // Older than every tracked nonce: give it up rather than evict a newer one a
    // retransmission may still need; it stays untracked because the floor below
    // would cover it anyway once the oldest went.
    if (*id < x.at(oldest).id()) return Verdict::untracked;
    // Slots sort above the floor, so it only rises.
    x.more->floorMs = x.at(oldest).ms;
    x.more->floorCounter = x.at(oldest).counter;
    x.more->hasFloor = true;
    x.removeAt(oldest);
  }
  x.more->slots[x.more->used++] = {id->ms, fingerprint, id->counter, nc};
  return Verdict::fresh;
}

void NonceCounter::forgetBefore(int64_t cutoffMs) {
  if (cutoffMs <= 0) return;  // issue times are never negative: nothing is older
  const NonceId cutoff{static_cast<uint64_t>(cutoffMs), 0};
  for (auto u = users_.begin(); u != users_.end();) {
    User& x = u->second;
    for (size_t i = x.count(); i-- > 1;)
      if (x.at(i).id() < cutoff) x.removeAt(i);
    if (x.first.id() < cutoff) {
      // The floor sorts below every slot, so an extension without slots has its
      // floor below the cutoff too: whatever it covered is stale now, rejected by
      // NonceService::check before it gets here, and the entry can go.
      if (x.count() == 1) {
        u = users_.erase(u);
        continue;
      }
      x.removeAt(0);
    }
    if (x.more && x.more->hasFloor && x.more->floor() < cutoff) x.more->hasFloor = false;
    if (x.more && x.more->used == 0 && !x.more->hasFloor) x.more.reset();  // back to one node
    ++u;
  }
  if (droppedFloor_ && *droppedFloor_ < cutoff) droppedFloor_.reset();
}

void NonceCounter::retainOnly(const std::set<std::string>& users) {
  for (auto u = users_.begin(); u != users_.end();) {
    if (users.count(u->first)) {
      ++u;
      continue;
    }
    const User& x = u->second;
    auto raise = [&](NonceId id) {
      if (!droppedFloor_ || id > *droppedFloor_) droppedFloor_ = id;
    };
    if (x.more && x.more->hasFloor) raise(x.more->floor());
    for (size_t i = 0; i < x.count(); ++i) raise(x.at(i).id());
    u = users_.erase(u);
  }
}

size_t NonceCounter::size() const {
  size_t n = 0;
  for (const auto& [user, x] : users_) n += x.count();
  return n;
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
