#include <doctest/doctest.h>

#include "control/output_gate.hpp"

using namespace sb::control;

TEST_CASE("control output gate: below the high mark every event is queued and no notice is due") {
  OutputGate g(1000, 500);
  CHECK(g.offer(1, 0));
  CHECK(g.offer(2, 999));
  CHECK_FALSE(g.noticeDue());
  CHECK(g.droppedTotal() == 0);
}

TEST_CASE("control output gate: at the high mark events are dropped until the queue drains to the low mark") {
  OutputGate g(1000, 500);
  CHECK_FALSE(g.offer(10, 1000));
  CHECK_FALSE(g.offer(11, 800));  // hysteresis: still above the low mark
  CHECK(g.dropping());
  CHECK_FALSE(g.noticeDue());     // not while dropping
  CHECK(g.offer(12, 500));        // drained: accepted again
  REQUIRE(g.noticeDue());
  DropNotice n = g.takeNotice();
  CHECK(n.fromSeq == 10);
  CHECK(n.toSeq == 11);
  CHECK(n.count == 2);
  CHECK_FALSE(g.noticeDue());
  CHECK(g.droppedTotal() == 2);
}

TEST_CASE("control output gate: a drain without a new event makes the notice due") {
  OutputGate g(1000, 500);
  CHECK_FALSE(g.offer(7, 2000));
  g.onDrained(600);
  CHECK_FALSE(g.noticeDue());
  g.onDrained(100);
  REQUIRE(g.noticeDue());
  CHECK(g.takeNotice().count == 1);
}

TEST_CASE("control output gate: filtered subscriptions: count is what this client lost, the range spans it") {
  OutputGate g(1000, 500);
  CHECK_FALSE(g.offer(3, 1500));
  CHECK_FALSE(g.offer(9, 1500));
  g.onDrained(0);
  DropNotice n = g.takeNotice();
  CHECK(n.fromSeq == 3);
  CHECK(n.toSeq == 9);
  CHECK(n.count == 2);
}

TEST_CASE("control output gate: events lost upstream are reported like drops") {
  OutputGate g(1000, 500);
  g.recordLost(20, 29);
  REQUIRE(g.noticeDue());
  DropNotice n = g.takeNotice();
  CHECK(n.fromSeq == 20);
  CHECK(n.toSeq == 29);
  CHECK(n.count == 10);
}

TEST_CASE("control output gate: drops and losses merge into one notice") {
  OutputGate g(1000, 500);
  CHECK_FALSE(g.offer(5, 1000));
  g.recordLost(6, 8);
  CHECK_FALSE(g.noticeDue());
  CHECK(g.offer(9, 0));
  DropNotice n = g.takeNotice();
  CHECK(n.fromSeq == 5);
  CHECK(n.toSeq == 8);
  CHECK(n.count == 4);
}
