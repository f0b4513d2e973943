#include <doctest/doctest.h>

#include <future>
#include <vector>

#include "control/control_thread.hpp"
#include "control/event_outlet.hpp"

using namespace sb::control;

namespace {

struct Seen {
  std::vector<uint64_t> seqs;
  std::vector<LostRange> lost;
  int batches = 0;
};

// Runs `fn` on the control thread and waits for it.
void onLoop(ControlThread& t, std::function<void()> fn) {
  std::promise<void> done;
  REQUIRE(t.post([&] {
    fn();
    done.set_value();
  }));
  done.get_future().get();
}

}  // namespace

TEST_CASE("control outlet: events are numbered from 1 and arrive in order, batched") {
  ControlThread thread;
  thread.start({});
  EventOutlet outlet(thread, 100);
  Seen seen;
  outlet.setSink([&](std::vector<PublishedEvent>& batch, LostRange lost) {
    ++seen.batches;
    for (auto& e : batch) seen.seqs.push_back(e.seq);
    if (lost.toSeq) seen.lost.push_back(lost);
  });
  // Hold the loop so that every publish lands in one batch.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  REQUIRE(thread.post([gate] { gate.wait(); }));
  for (int i = 0; i < 50; ++i) CHECK(outlet.publish("e", "u", nlohmann::json::object()) == static_cast<uint64_t>(i + 1));
  release.set_value();
  onLoop(thread, [] {});
  CHECK(seen.batches == 1);
  REQUIRE(seen.seqs.size() == 50);
  for (size_t i = 0; i < seen.seqs.size(); ++i) CHECK(seen.seqs[i] == i + 1);
  CHECK(seen.lost.empty());
  thread.stop();
}

TEST_CASE("control outlet: beyond maxPending events are counted as lost with their seqs") {
  ControlThread thread;
  thread.start({});
  EventOutlet outlet(thread, 10);
  Seen seen;
  outlet.setSink([&](std::vector<PublishedEvent>& batch, LostRange lost) {
    for (auto& e : batch) seen.seqs.push_back(e.seq);
    if (lost.toSeq) seen.lost.push_back(lost);
  });
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  REQUIRE(thread.post([gate] { gate.wait(); }));
  for (int i = 0; i < 25; ++i) outlet.publish("e", "", nlohmann::json::object());
  release.set_value();
  onLoop(thread, [] {});
  CHECK(seen.seqs.size() == 10);
  REQUIRE(seen.lost.size() == 1);
  CHECK(seen.lost[0].fromSeq == 11);
  CHECK(seen.lost[0].toSeq == 25);
  CHECK(outlet.lostTotal() == 15);
  // The outlet recovers: the next event is numbered after the lost ones.
  CHECK(outlet.publish("e", "", nlohmann::json::object()) == 26);
  onLoop(thread, [] {});
  CHECK(seen.seqs.back() == 26);
  thread.stop();
}

TEST_CASE("control outlet: once closed, publish is refused") {
  ControlThread thread;
  thread.start({});
  EventOutlet outlet(thread, 10);
  outlet.setSink([](std::vector<PublishedEvent>&, LostRange) {});
  outlet.close();
  CHECK(outlet.publish("e", "", nlohmann::json::object()) == 0);
  thread.stop();
}
