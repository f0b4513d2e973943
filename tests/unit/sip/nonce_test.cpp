#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sip/nonce.hpp"

using namespace sb::sip;

TEST_CASE("nonce: issued nonces verify, expire as stale, and forgeries are caught") {
  NonceService::Secret secret{};
  secret[0] = 7;
  NonceService s(300'000, secret);
  const auto n = s.issue(1'000'000);
  CHECK(n.size() == 48);
  CHECK(s.check(n, 1'000'000).verdict == NonceService::Verdict::valid);
  CHECK(s.check(n, 1'200'000).verdict == NonceService::Verdict::valid);
  CHECK(s.check(n, 1'300'001).verdict == NonceService::Verdict::stale);
  CHECK(s.check(n, 999'000).verdict == NonceService::Verdict::stale);  // clock went back
  auto forged = n;
  forged[5] = forged[5] == '0' ? '1' : '0';
  CHECK(s.check(forged, 1'000'000).verdict == NonceService::Verdict::forged);
  CHECK(s.check("", 1'000'000).verdict == NonceService::Verdict::forged);
  CHECK(s.check(std::string(48, 'z'), 1'000'000).verdict == NonceService::Verdict::forged);
  NonceService other(300'000);  // another process's secret
  CHECK(other.check(n, 1'000'000).verdict == NonceService::Verdict::forged);
  CHECK(s.issue(1'000'000) != n);
}

TEST_CASE("nonce: the id is the issue time and counter, and sorts as the text does") {
  NonceService s(300'000);
  const auto a = s.issue(5'000), b = s.issue(6'000), c = s.issue(6'000);
  CHECK(a < b);
  const auto ia = parseNonceId(a), ib = parseNonceId(b), ic = parseNonceId(c);
  REQUIRE(ia);
  REQUIRE(ib);
  REQUIRE(ic);
  CHECK(ia->ms == 5'000);
  CHECK(ib->ms == 6'000);
  CHECK(ib->counter == ia->counter + 1);  // the counter tells nonces of one millisecond apart
  CHECK(*ia < *ib);
  CHECK(*ib != *ic);
  CHECK((*ib < *ic) == (b < c));
  // time 0x1770 = 6000 ms, counter 0x2a = 42, then the MAC
  CHECK(parseNonceId("00000000000017700000002a00112233445566778899aabb") == NonceId{6'000, 42});
}

TEST_CASE("nonce: only NonceService's format has an id") {
  const std::string ok = "00000000000017700000002a00112233445566778899aabb";
  CHECK(parseNonceId(ok));
  CHECK_FALSE(parseNonceId(""));
  CHECK_FALSE(parseNonceId("n1"));
  CHECK_FALSE(parseNonceId(ok.substr(1)));  // 47 digits
  CHECK_FALSE(parseNonceId(ok + "0"));      // 49 digits
  std::string upper = ok;
  upper[40] = 'A';  // never issued in upper case
  CHECK_FALSE(parseNonceId(upper));
  std::string notHex = ok;
  notHex[3] = 'g';
  CHECK_FALSE(parseNonceId(notHex));
}

namespace {
// A nonce in NonceService's format issued at `ms`; NonceCounter only reads the
// time and counter (the caller has checked the MAC), so the MAC here is zeros.
std::string at(uint64_t ms, uint32_t counter = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llx%08x%024d", static_cast<unsigned long long>(ms), counter, 0);
  return buf;
}
}  // namespace

TEST_CASE("nonce-count: increase is fresh, the same request again is a retransmission, anything else a replay") {
  NonceCounter c;
  const auto n1 = at(1000);
  CHECK(c.use("1001", n1, 1, 11) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1001", n1, 1, 11) == NonceCounter::Verdict::retransmission);
  CHECK(c.use("1001", n1, 1, 12) == NonceCounter::Verdict::replay);  // same nc, another request
  CHECK(c.use("1001", n1, 2, 13) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1001", n1, 1, 11) == NonceCounter::Verdict::replay);  // RFC 7616 §3.3: an old nc
  CHECK(c.use("1001", n1, 2, 13) == NonceCounter::Verdict::retransmission);
  CHECK(c.use("1001", n1, 0, 13) == NonceCounter::Verdict::replay);
  // Another nonce of the same millisecond is another nonce.
  CHECK(c.use("1001", at(1000, 1), 1, 14) == NonceCounter::Verdict::fresh);
  CHECK(c.size() == 2);
}

TEST_CASE("nonce-count: a nonce not in NonceService's format is untracked and leaves nothing behind") {
  NonceCounter c;
  CHECK(c.use("1001", "", 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", "n1", 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", at(1000) + "0", 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", std::string(48, 'z'), 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.users() == 0);
  CHECK(c.size() == 0);
}

TEST_CASE("nonce-count: bounded per extension, an evicted nonce is untracked, never replayable") {
  NonceCounter c;
  static_assert(NonceCounter::kSlots == 4);
  const auto a = at(1000), b = at(2000), cc = at(3000), d = at(4000), e = at(5000), f = at(6000);
  for (const auto& n : {b, cc, d, e}) CHECK(c.use("1001", n, 1, 1) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1001", f, 1, 1) == NonceCounter::Verdict::fresh);  // evicts b, the oldest
  CHECK(c.size() == 4);
  CHECK(c.use("1001", b, 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", b, 5, 9) == NonceCounter::Verdict::untracked);  // a higher nc is no way back in
  // Never used, but older than an evicted one: it may as well have been used.
  CHECK(c.use("1001", a, 1, 1) == NonceCounter::Verdict::untracked);
  // Above the floor only by its counter, and older than every slot.
  CHECK(c.use("1001", at(2000, 7), 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", cc, 1, 1) == NonceCounter::Verdict::retransmission);
  CHECK(c.size() == 4);
  c.forgetBefore(4000);  // cc and the floor go; d, issued at the cutoff, stays
  CHECK(c.size() == 3);
  CHECK(c.use("1001", d, 1, 1) == NonceCounter::Verdict::retransmission);
  CHECK(c.use("1001", e, 2, 2) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1001", f, 1, 1) == NonceCounter::Verdict::retransmission);
  c.forgetBefore(5500);  // only f is left
  CHECK(c.size() == 1);
  CHECK(c.use("1001", f, 1, 1) == NonceCounter::Verdict::retransmission);
  CHECK(c.use("1001", at(7000), 1, 1) == NonceCounter::Verdict::fresh);
  c.forgetBefore(0);  // nothing is older than time 0
  CHECK(c.size() == 2);
}

TEST_CASE("nonce-count: an older nonce that finds the slots full evicts nothing") {
  NonceCounter c;
  for (uint64_t ms : {3000, 4000, 5000, 6000}) CHECK(c.use("1001", at(ms), 1, 1) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1001", at(2000), 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", at(3000), 1, 1) == NonceCounter::Verdict::retransmission);
  CHECK(c.size() == 4);
}

TEST_CASE("nonce-count: each slot is found, whichever was evicted or forgotten") {
  NonceCounter c;
  // Out of order, so that eviction and forgetting take slots from the middle.
  for (uint64_t ms : {5000, 2000, 4000, 3000}) CHECK(c.use("1001", at(ms), 1, ms) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1001", at(6000), 1, 6000) == NonceCounter::Verdict::fresh);  // evicts 2000, the second slot
  for (uint64_t ms : {3000, 4000, 5000, 6000})
    CHECK(c.use("1001", at(ms), 1, ms) == NonceCounter::Verdict::retransmission);
  c.forgetBefore(4500);  // 3000 and 4000 go
  CHECK(c.size() == 2);
  for (uint64_t ms : {5000, 6000}) CHECK(c.use("1001", at(ms), 1, ms) == NonceCounter::Verdict::retransmission);
  c.forgetBefore(5500);  // the first slot goes, the other stays
  CHECK(c.size() == 1);
  CHECK(c.users() == 1);
  CHECK(c.use("1001", at(6000), 1, 6000) == NonceCounter::Verdict::retransmission);
  CHECK(c.use("1001", at(7000), 1, 7000) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1001", at(6000), 1, 6000) == NonceCounter::Verdict::retransmission);
  CHECK(c.size() == 2);
}

// The bench/register failure: under load the old global table of 8192 nonces
// had evicted a phone's nonce before its UDP retransmission (RFC 3261 §17.1.2.2)
// came, and the retransmission got 401 stale=true instead of the same 200.
TEST_CASE("nonce-count: many other extensions never evict an extension's nonces") {
  NonceService s(300'000);
  NonceCounter c;
  const auto mine = s.issue(1'000'000);
  CHECK(c.use("1001", mine, 1, 42) == NonceCounter::Verdict::fresh);
  for (int i = 0; i < 20'000; ++i) {
    const auto user = std::to_string(20'000 + i);
    REQUIRE(c.use(user, s.issue(1'000'000 + i / 10), 1, 7) == NonceCounter::Verdict::fresh);
  }
  CHECK(c.users() == 20'001);
  CHECK(c.use("1001", mine, 1, 42) == NonceCounter::Verdict::retransmission);
  CHECK(c.use("1001", mine, 1, 43) == NonceCounter::Verdict::replay);
  CHECK(c.use("1001", mine, 2, 44) == NonceCounter::Verdict::fresh);
  // Another extension presenting this nonce has its own counts, but NonceService
  // nonces are not bound to a user anyway: the digest response is.
  CHECK(c.use("20000", mine, 1, 42) == NonceCounter::Verdict::fresh);
}

TEST_CASE("nonce-count: a phone that takes a new nonce for every refresh keeps its retransmissions") {
  NonceService s(300'000);
  NonceCounter c;
  std::vector<std::string> used;
  for (int i = 0; i < 4; ++i) {
    used.push_back(s.issue(1'000'000 + i * 100));
    CHECK(c.use("1001", used.back(), 1, 100 + i) == NonceCounter::Verdict::fresh);
    for (int j = 0; j <= i; ++j)  // every request still in its 32 s window is recognised
      CHECK(c.use("1001", used[j], 1, 100 + j) == NonceCounter::Verdict::retransmission);
  }
  used.push_back(s.issue(1'000'500));
  CHECK(c.use("1001", used.back(), 1, 104) == NonceCounter::Verdict::fresh);
  // Only a fifth newer nonce pushes the first out, and then it is stale, not fresh.
  CHECK(c.use("1001", used[0], 1, 100) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", used[0], 9, 999) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1001", used[1], 1, 101) == NonceCounter::Verdict::retransmission);
}

TEST_CASE("nonce-count: expiry and reload drop extensions, a re-added one cannot replay old nonces") {
  NonceService s(300'000);
  NonceCounter c;
  const auto old = s.issue(1'000'000);
  const auto newer = s.issue(2'000'000);
  CHECK(c.use("1001", old, 1, 1) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1002", old, 1, 2) == NonceCounter::Verdict::fresh);
  CHECK(c.use("1002", newer, 1, 3) == NonceCounter::Verdict::fresh);
  c.forgetBefore(1'500'000);
  CHECK(c.users() == 1);  // 1001 only had a stale nonce
  CHECK(c.size() == 1);

  CHECK(c.use("1003", newer, 1, 4) == NonceCounter::Verdict::fresh);
  c.retainOnly({"1002"});
  CHECK(c.users() == 1);
  CHECK(c.use("1002", newer, 1, 3) == NonceCounter::Verdict::retransmission);
  // 1003 removed and configured again: its captured Authorization is not new.
  CHECK(c.use("1003", newer, 1, 4) == NonceCounter::Verdict::untracked);
  CHECK(c.use("1003", newer, 2, 5) == NonceCounter::Verdict::untracked);
  const auto later = s.issue(2'000'001);
  CHECK(c.use("1003", later, 1, 6) == NonceCounter::Verdict::fresh);
  c.forgetBefore(3'000'000);
  CHECK(c.users() == 0);
  CHECK(c.size() == 0);
  CHECK(c.use("1004", s.issue(3'000'000), 1, 7) == NonceCounter::Verdict::fresh);  // the reload floor expired too
}

TEST_CASE("nonce-count: nc must be exactly 8 hex digits") {
  CHECK(parseNonceCount("00000001") == 1u);
  CHECK(parseNonceCount("0000000A") == 10u);
  CHECK(parseNonceCount("ffffffff") == 0xffffffffu);
  CHECK_FALSE(parseNonceCount("1"));
  CHECK_FALSE(parseNonceCount("0000000g"));
  CHECK_FALSE(parseNonceCount("000000001"));
}
