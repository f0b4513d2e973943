// The session archive: newest first, filters, cursor paging, retention.
#include "store/records.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "store/store.hpp"

namespace fs = std::filesystem;
using namespace sb::store;

namespace {

struct Archive {
  fs::path dir;
  std::unique_ptr<Store> store;
  Archive() {
    char tmpl[] = "/tmp/sbrecords-XXXXXX";
    dir = mkdtemp(tmpl);
    store = Store::open((dir / "db").string());
  }
  ~Archive() {
    store.reset();
    fs::remove_all(dir);
  }
  static SessionRecord rec(const std::string& id, int64_t at, const std::string& user, const std::string& state) {
    return {id, at, user, state, "{\"sessionId\":\"" + id + "\"}"};
  }
};

std::string ids(const RecordPage& p) {
  std::string s;
  for (const auto& r : p.records) s += r.substr(14, 2) + " ";  // {"sessionId":"XX"}
  return s;
}

}  // namespace

TEST_CASE("store records: newest first, filtered, paged by cursor without losing ties") {
  Archive a;
  // Two records end in the same millisecond: the cursor must not skip either.
  appendRecords(*a.store,
                {Archive::rec("s1", 1000, "alice", "ok"), Archive::rec("s2", 2000, "bob", "ok"),
                 Archive::rec("s3", 2000, "alice", "waitingGiveUp"), Archive::rec("s4", 3000, "alice", "ok")});
  CHECK(ids(queryRecords(*a.store, {})) == "s4 s3 s2 s1 ");
  RecordQuery byAlice;
  byAlice.userId = "alice";
  CHECK(ids(queryRecords(*a.store, byAlice)) == "s4 s3 s1 ");
  RecordQuery window;
  window.fromMs = 2000;
  window.toMs = 3000;
  CHECK(ids(queryRecords(*a.store, window)) == "s3 s2 ");
  RecordQuery abandoned;
  abandoned.endState = "waitingGiveUp";
  CHECK(ids(queryRecords(*a.store, abandoned)) == "s3 ");

  RecordQuery page;
  page.limit = 1;
  std::string seen;
  for (int i = 0; i < 10; ++i) {
    RecordPage p = queryRecords(*a.store, page);
    seen += ids(p);
    if (p.next.empty()) break;
    page.before = p.next;
  }
  CHECK(seen == "s4 s3 s2 s1 ");
}

TEST_CASE("store records: a rewritten session replaces its record, retention prunes by end time") {
  Archive a;
  appendRecords(*a.store, {Archive::rec("s1", 1000, "alice", "ok"), Archive::rec("s2", 5000, "alice", "ok")});
  appendRecords(*a.store, {Archive::rec("s1", 1000, "alice", "error")});
  RecordQuery errors;
  errors.endState = "error";
  CHECK(ids(queryRecords(*a.store, errors)) == "s1 ");
  CHECK(pruneRecords(*a.store, 2000) == 1);
  CHECK(ids(queryRecords(*a.store, {})) == "s2 ");
}
