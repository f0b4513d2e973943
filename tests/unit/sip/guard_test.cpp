#include <doctest/doctest.h>

#include "sip/guard.hpp"

using namespace sb::sip;

TEST_CASE("guard: maxAuthFailures from one source bans it for banSeconds, others are unaffected") {
  SourceGuard g(3, 10'000);
  CHECK_FALSE(g.fail("10.0.0.1", 0));
  CHECK_FALSE(g.fail("10.0.0.1", 1));
  CHECK_FALSE(g.banned("10.0.0.1", 2));
  CHECK(g.fail("10.0.0.1", 2));
  CHECK(g.bannedCount() == 1);
  CHECK(g.banned("10.0.0.1", 3));
  CHECK(g.banned("10.0.0.1", 4));
  CHECK_FALSE(g.banned("10.0.0.2", 3));
  CHECK(g.sweep(5000).empty());
  auto lifted = g.sweep(10'002);
  REQUIRE(lifted.size() == 1);
  CHECK(lifted[0].dropped == 2);
  CHECK(g.bannedCount() == 0);
  CHECK_FALSE(g.banned("10.0.0.1", 10'003));
}

TEST_CASE("guard: failures spaced wider than banSeconds never add up to a ban") {
  SourceGuard g(2, 1000);
  CHECK_FALSE(g.fail("a", 0));
  CHECK_FALSE(g.fail("a", 5000));
  CHECK(g.fail("a", 5500));
}

TEST_CASE("guard: banSeconds 0 disables the ban, the table is bounded") {
  SourceGuard off(1, 0);
  CHECK_FALSE(off.fail("a", 0));
  CHECK_FALSE(off.banned("a", 1));
  SourceGuard small(1, 1000, 2);
  CHECK(small.fail("a", 0));
  CHECK(small.fail("b", 0));
  CHECK_FALSE(small.fail("c", 0));  // full of live bans: not tracked
  CHECK(small.bannedCount() == 2);
}

TEST_CASE("rate limiter: a burst, then the refill rate, per key") {
  RateLimiter r(10, 5);
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += r.allow("1001|a", 0);
  CHECK(allowed == 5);
  CHECK(r.allow("1002|a", 0));  // another key is untouched
  CHECK_FALSE(r.allow("1001|a", 50));
  CHECK(r.allow("1001|a", 100));  // 10/s: one token per 100 ms
  r.sweep(10'000);
  CHECK(r.size() == 0);
}
