#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "store/store.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using sb::store::Store;

using sb::store::test::TempDir;

TEST_CASE("a new store is created at the latest schema version, in a new folder") {
  TempDir t;
  auto s = Store::open((t.path / "sub" / "db.sqlite").string());
  CHECK(s->schemaVersion() == Store::latestSchemaVersion());
  CHECK(Store::latestSchemaVersion() >= 1);
}

TEST_CASE("reopening keeps the data and does not migrate twice") {
  TempDir t;
  const auto p = (t.path / "db.sqlite").string();
  Store::open(p)->exec("INSERT INTO meta(key, value) VALUES ('k', 'v')");
  auto s = Store::open(p);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(s->handle(), "SELECT value FROM meta WHERE key='k'", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "v");
  sqlite3_finalize(st);
}

TEST_CASE("a corrupt file is a clear error") {
  TempDir t;
  const auto p = (t.path / "db.sqlite").string();
  std::ofstream(p) << std::string(4096, 'x');
  CHECK_THROWS_WITH_AS(Store::open(p), doctest::Contains("corrupt"), std::runtime_error);
}

TEST_CASE("a file from a newer build is refused") {
  TempDir t;
  const auto p = (t.path / "db.sqlite").string();
  Store::open(p)->exec("PRAGMA user_version = 999");
  CHECK_THROWS_WITH_AS(Store::open(p), doctest::Contains("newer than this build"), std::runtime_error);
}

TEST_CASE("an unwritable location is a clear error") {
  CHECK_THROWS_WITH_AS(Store::open("/proc/seatbridge-test/db.sqlite"), doctest::Contains("storage.path"),
                       std::runtime_error);
}

TEST_CASE("a failed transaction rolls back") {
  TempDir t;
  auto s = Store::open((t.path / "db.sqlite").string());
  CHECK_THROWS(s->transaction([&] {
    s->exec("INSERT INTO meta(key, value) VALUES ('a', '1')");
    s->exec("INSERT INTO nonexistent VALUES (1)");
  }));
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(s->handle(), "SELECT count(*) FROM meta WHERE key='a'", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == 0);
  sqlite3_finalize(st);
}
