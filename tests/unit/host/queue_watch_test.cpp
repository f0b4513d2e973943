#include "host/queue_watch.hpp"

#include <doctest/doctest.h>

#include "control/subscription.hpp"

using sb::core::Duration;
using sb::core::QueueStat;
using sb::core::TimePoint;
using sb::host::QueueWatch;

namespace {

std::map<std::string, QueueStat> stats(size_t salesWaiting, int64_t salesOldestMs) {
  return {{"sales", QueueStat{salesWaiting, Duration(salesOldestMs)}}, {"support", QueueStat{}}};
}

}  // namespace

TEST_CASE("queueChanged: a customer joining, the wait growing, the oldest leaving, the last leaving") {
  QueueWatch w;
  CHECK(w.changes(stats(0, 0), TimePoint{1000}).empty());  // empty queues at start: nothing to say

  auto c = w.changes(stats(1, 0), TimePoint{2000});
  REQUIRE(c.size() == 1);
  CHECK(c[0] == nlohmann::json{{"skillGroup", "sales"}, {"waiting", 1}, {"oldestWaitMs", 0}});

  // The same customer waiting longer is no change (the once-a-second refresh).
  CHECK(w.changes(stats(1, 1000), TimePoint{3000}).empty());
  // A second customer joins: the count changes.
  c = w.changes(stats(2, 2000), TimePoint{4000});
  REQUIRE(c.size() == 1);
  CHECK(c[0]["waiting"] == 2);
  CHECK(c[0]["oldestWaitMs"] == 2000);
  // In one batch the oldest is answered and a third joins: same count, another
  // oldest (who joined at 3500), so a change.
  c = w.changes(stats(2, 1000), TimePoint{4500});
  REQUIRE(c.size() == 1);
  CHECK(c[0]["oldestWaitMs"] == 1000);
  c = w.changes(stats(0, 0), TimePoint{5000});
  REQUIRE(c.size() == 1);
  CHECK(c[0] == nlohmann::json{{"skillGroup", "sales"}, {"waiting", 0}, {"oldestWaitMs", 0}});
  CHECK(w.changes(stats(0, 0), TimePoint{6000}).empty());
}

TEST_CASE("queueChanged: a group seen first with customers waiting is announced; a removed one forgotten") {
  QueueWatch w;
  auto c = w.changes({{"new", QueueStat{3, Duration(500)}}}, TimePoint{1000});
  REQUIRE(c.size() == 1);
  CHECK(c[0]["skillGroup"] == "new");
  CHECK(w.changes({}, TimePoint{2000}).empty());
  // Back again: as if new (it was forgotten), so announced again.
  CHECK(w.changes({{"new", QueueStat{3, Duration(1500)}}}, TimePoint{2000}).size() == 1);
}

TEST_CASE("queue events reach only connections subscribed to the queues topic") {
  using sb::control::Subscription;
  const Subscription all{true, {}, false}, agents{false, {"alice"}, false}, queues{false, {}, true},
      both{true, {}, true};
  CHECK_FALSE(all.matches("", sb::control::kQueuesTopic));
  CHECK_FALSE(agents.matches("", sb::control::kQueuesTopic));
  CHECK(queues.matches("", sb::control::kQueuesTopic));
  CHECK(both.matches("", sb::control::kQueuesTopic));
  // A queues-only subscriber gets nothing else; an ordinary subscription is as before.
  CHECK_FALSE(queues.matches("alice"));
  CHECK_FALSE(queues.matches(""));
  CHECK(queues.any());
  CHECK(all.matches(""));
  CHECK(agents.matches("alice"));
  CHECK_FALSE(agents.matches("bob"));
  CHECK_FALSE(all.matches("alice", "other"));
}
