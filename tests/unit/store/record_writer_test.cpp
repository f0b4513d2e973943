// The record writer: records handed over from one thread are committed by the
// writer's own, a flush makes them readable, and the destructor loses none.
#include "store/record_writer.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "store/records.hpp"
#include "temp_dir.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using namespace sb::store;

namespace {

using Dir = sb::store::test::TempDir;

SessionRecord rec(int i, int64_t at) {
  const std::string id = "s" + std::to_string(i);
  return {id, at, "alice", "ok", "{\"sessionId\":\"" + id + "\"}"};
}

constexpr int64_t kNow = 1'700'000'000'000;

RecordWriter::Options options(const Dir& d, std::atomic<int>* failures = nullptr) {
  return {.path = d.db(),
          .retentionDays = 90,
          .wallClockMs = [] { return kNow; },
          .onWriteFailure = [failures] {
            if (failures) ++*failures;
          }};
}

size_t count(Store& s) {
  RecordQuery q;
  q.limit = 100000;
  return queryRecords(s, q).records.size();
}

}  // namespace

TEST_CASE("record writer: records from several threads are all committed once flushed") {
  Dir d;
  auto reader = Store::open(d.db());
  RecordWriter w(options(d));
  std::thread a([&] {
    for (int i = 0; i < 500; ++i) w.submit(rec(i, kNow - i));
  });
  std::thread b([&] {
    for (int i = 500; i < 1000; ++i) w.submit(rec(i, kNow - i));
  });
  a.join();
  b.join();
  w.flush();
  CHECK(w.written() == 1000);
  CHECK(count(*reader) == 1000);  // another connection sees them: they are committed
}

TEST_CASE("record writer: what is still queued is written when the writer stops") {
  Dir d;
  {
    RecordWriter w(options(d));
    for (int i = 0; i < 10; ++i) w.submit(rec(i, kNow));
  }  // no flush: the destructor must not drop them
  auto reader = Store::open(d.db());
  CHECK(count(*reader) == 10);
}

TEST_CASE("record writer: records past the retention are pruned when it starts") {
  Dir d;
  {
    auto s = Store::open(d.db());
    appendRecords(*s, {rec(1, kNow - 91LL * 86'400'000), rec(2, kNow - 1000)});
  }
  RecordWriter w(options(d));
  w.submit(rec(3, kNow));
  w.flush();  // the first batch comes after the start-up prune
  auto reader = Store::open(d.db());
  CHECK(count(*reader) == 2);
}

TEST_CASE("record writer: a store that refuses writes is counted and does not stop the writer") {
  Dir d;
  std::atomic<int> failures{0};
  auto reader = Store::open(d.db());
  RecordWriter w(options(d, &failures));
  w.submit(rec(0, kNow));
  w.flush();  // past the start-up prune
  // Another connection holds the write lock past the writer's busy timeout.
  reader->exec("BEGIN IMMEDIATE");
  w.submit(rec(1, kNow));
  w.flush();
  CHECK(failures.load() == 1);
  reader->exec("ROLLBACK");
  w.submit(rec(2, kNow));
  w.flush();
  CHECK(w.written() == 2);
  CHECK(count(*reader) == 2);
}
