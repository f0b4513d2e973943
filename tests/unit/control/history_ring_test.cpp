#include <doctest/doctest.h>

#include <vector>

#include "control/history_ring.hpp"

using namespace sb::control;

namespace {

StoredEvent ev(uint64_t seq, std::string user = "") {
  return StoredEvent{seq, std::move(user), "e" + std::to_string(seq) + "\n"};
}

std::vector<uint64_t> from(const HistoryRing& r, uint64_t seq) {
  std::vector<uint64_t> out;
  r.forEachFrom(seq, [&](const StoredEvent& e) { out.push_back(e.seq); });
  return out;
}

}  // namespace

TEST_CASE("control history: an empty ring can replay from 1 and holds nothing") {
  HistoryRing r(4);
  CHECK(r.canReplayFrom(1));
  CHECK(r.lastSeq() == 0);
  CHECK(from(r, 1).empty());
}

TEST_CASE("control history: the ring replays from any held seq, in order") {
  HistoryRing r(4);
  for (uint64_t s = 1; s <= 3; ++s) r.push(ev(s));
  CHECK(from(r, 2) == std::vector<uint64_t>{2, 3});
  CHECK(from(r, 4).empty());
  CHECK(r.canReplayFrom(1));
}

TEST_CASE("control history: evicted events make older seqs unreplayable") {
  HistoryRing r(3);
  for (uint64_t s = 1; s <= 5; ++s) r.push(ev(s));
  CHECK(r.size() == 3);
  CHECK_FALSE(r.canReplayFrom(2));
  CHECK(r.canReplayFrom(3));
  CHECK(r.oldestReplayable() == 3);
  CHECK(from(r, 1) == std::vector<uint64_t>{3, 4, 5});
}

TEST_CASE("control history: a gap in seqs (events lost on the way) is unreplayable") {
  HistoryRing r(10);
  r.push(ev(1));
  r.push(ev(2));
  r.push(ev(5));  // 3 and 4 never arrived
  CHECK_FALSE(r.canReplayFrom(4));
  CHECK(r.canReplayFrom(5));
  CHECK(from(r, 1) == std::vector<uint64_t>{5});
}

TEST_CASE("control history: markLost moves the floor and the last seq") {
  HistoryRing r(10);
  r.push(ev(1));
  r.markLost(4);
  CHECK(r.lastSeq() == 4);
  CHECK_FALSE(r.canReplayFrom(4));
  CHECK(r.canReplayFrom(5));
  r.push(ev(5));
  CHECK(from(r, 5) == std::vector<uint64_t>{5});
}

TEST_CASE("control history: a seq that does not rise is ignored") {
  HistoryRing r(10);
  r.push(ev(3));
  r.push(ev(2));
  r.push(ev(3));
  CHECK(r.size() == 1);
}

TEST_CASE("control history: the byte bound evicts the oldest events, keeping the newest") {
  HistoryRing r(100, 9);  // each test line is 3 bytes ("eN\n")
  for (uint64_t s = 1; s <= 5; ++s) r.push(ev(s));
  CHECK(r.bytes() == 9);
  CHECK(from(r, 1) == std::vector<uint64_t>{3, 4, 5});
  CHECK_FALSE(r.canReplayFrom(2));
  CHECK(r.canReplayFrom(3));
  HistoryRing tiny(100, 1);  // one event larger than the bound is still held
  tiny.push(ev(1));
  CHECK(from(tiny, 1) == std::vector<uint64_t>{1});
}
