#include <doctest/doctest.h>

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

TEST_CASE("nonce: nonces sort by issue time, and the floor sorts before them") {
  NonceService s(300'000);
  const auto a = s.issue(5'000), b = s.issue(6'000);
  CHECK(a < b);
  CHECK(nonceFloorFor(6'000) < b);
  CHECK(nonceFloorFor(6'000) > a);
}

TEST_CASE("nonce-count: increase is fresh, the same request again is a retransmission, anything else a replay") {
  NonceCounter c(16);
  CHECK(c.use("n1", 1, 11) == NonceCounter::Verdict::fresh);
  CHECK(c.use("n1", 1, 11) == NonceCounter::Verdict::retransmission);
  CHECK(c.use("n1", 1, 12) == NonceCounter::Verdict::replay);
  CHECK(c.use("n1", 2, 13) == NonceCounter::Verdict::fresh);
  CHECK(c.use("n1", 1, 11) == NonceCounter::Verdict::replay);
  CHECK(c.use("n1", 2, 13) == NonceCounter::Verdict::retransmission);
}

TEST_CASE("nonce-count: bounded; an evicted nonce is untracked, never replayable") {
  NonceCounter c(2);
  CHECK(c.use("a", 1, 1) == NonceCounter::Verdict::fresh);
  CHECK(c.use("b", 1, 1) == NonceCounter::Verdict::fresh);
  CHECK(c.use("c", 1, 1) == NonceCounter::Verdict::fresh);  // evicts "a"
  CHECK(c.size() == 2);
  CHECK(c.use("a", 1, 1) == NonceCounter::Verdict::untracked);
  CHECK(c.use("a", 5, 9) == NonceCounter::Verdict::untracked);
  c.forgetBefore("c");
  CHECK(c.size() == 1);
}

TEST_CASE("nonce-count: nc must be exactly 8 hex digits") {
  CHECK(parseNonceCount("00000001") == 1u);
  CHECK(parseNonceCount("0000000A") == 10u);
  CHECK(parseNonceCount("ffffffff") == 0xffffffffu);
  CHECK_FALSE(parseNonceCount("1"));
  CHECK_FALSE(parseNonceCount("0000000g"));
  CHECK_FALSE(parseNonceCount("000000001"));
}
