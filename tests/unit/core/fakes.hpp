#pragma once
// Test doubles for core/: a fake clock, a deterministic random source and a small
// directory (two skill groups, three agents, two desk phones).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/directory.hpp"
#include "core/random_source.hpp"

namespace sb::core::test {

// doctest cannot print std::string_view; compare wire names as strings.
inline std::string str(std::string_view v) { return std::string(v); }

// Time only moves when a test says so.
struct FakeClock {
  TimePoint t{1'000'000};
  TimePoint now() const { return t; }
  void advance(Duration d) { t = t + d; }
};

// Counts up from a seed: predictable ids, and repeatable on demand to exercise the
// collision guard.
class CountingRandom : public RandomSource {
 public:
  explicit CountingRandom(uint8_t seed = 0) : next_(seed) {}
  void fill(std::span<std::byte> out) override {
    for (auto& b : out) b = static_cast<std::byte>(next_);
    if (repeat_ > 0) {
      --repeat_;
    } else {
      ++next_;
    }
  }
  void repeatNext(int times) { repeat_ = times; }

 private:
  uint8_t next_;
  int repeat_ = 0;
};

inline Directory testDirectory() {
  Directory d;
  d.skillGroups = {{"sales", "Sales", 20, 120, 10, 0, 20, "", {}, {}, "", ""}, {"support", "Support", 15, 300, 30, 0, 20, "", {}, {}, "", ""}, {"quick", "Quick", 20, 60, 0, 0, 20, "", {}, {}, "", ""}};
  config::Agent alice;
  alice.userId = "alice@example.com";
  alice.name = "Alice";
  alice.extension = "1001";
  alice.skillGroups = {{"support", 3}, {"sales", 1}};
  config::Agent bob;
  bob.userId = "bob@example.com";
  bob.name = "Bob";
  bob.extension = "1002";
  bob.skillGroups = {{"quick", 1}};
  config::Agent carol;  // mobile only, no skill group
  carol.userId = "carol@example.com";
  carol.name = "Carol";
  d.agents = {alice, bob, carol};
  config::Extension e1;
  e1.id = "1001";
  e1.name = "Desk 1001";
  config::Extension e2;
  e2.id = "1002";
  e2.name = "Desk 1002";
  config::Extension e3;  // unbound line
  e3.id = "1003";
  e3.name = "Lobby";
  d.extensions = {e1, e2, e3};
  return d;
}

}  // namespace sb::core::test
