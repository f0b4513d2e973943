#include "store/store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "common/log.hpp"

namespace sb::store {
namespace {

// Each entry upgrades the schema from version i to i+1. Append only: a released
// migration is never edited, so every existing file reaches the same schema.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> m = {
      // 1: bookkeeping
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO meta(key, value) VALUES ('created', strftime('%Y-%m-%dT%H:%M:%fZ','now'));",
      // 2: the registrar's bindings (registrations.hpp); times are wall-clock ms
      "CREATE TABLE bindings (extension TEXT NOT NULL, contact_key TEXT NOT NULL, uri TEXT NOT NULL,"
      " source TEXT NOT NULL, user_agent TEXT NOT NULL DEFAULT '', call_id TEXT NOT NULL,"
      " cseq INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,"
      " PRIMARY KEY (extension, contact_key)) WITHOUT ROWID;",
      // 3: ended sessions (records.hpp): the archive Gateway.listRecords reads
      "CREATE TABLE session_records (session_id TEXT PRIMARY KEY, ended_at_ms INTEGER NOT NULL,"
      " user_id TEXT NOT NULL, end_state TEXT NOT NULL, record TEXT NOT NULL);"
      "CREATE INDEX session_records_by_end ON session_records (ended_at_ms, session_id);"
      "CREATE INDEX session_records_by_user ON session_records (user_id, ended_at_ms);",
  };
  return m;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("storage.path " + path + ": " + what);
}

}  // namespace

int Store::latestSchemaVersion() { return static_cast<int>(migrations().size()); }

std::unique_ptr<Store> Store::open(const std::string& path) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) fail(path, "cannot create folder " + dir.string() + ": " + ec.message());
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    fail(path, "cannot open: " + msg);
  }
  std::unique_ptr<Store> s(new Store(db, path));
  sqlite3_busy_timeout(db, 2000);
  try {
    // Reading the header is what detects a file that is not a database.
    s->schemaVersion();
    // WAL with synchronous=NORMAL: a crash may lose the last commits but never
    // corrupts the file, and writers never wait for an fsync per transaction.
    s->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    s->migrate();
  } catch (const std::runtime_error& e) {
    fail(path, e.what());
  }
  return s;
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    if (sqlite3_errcode(db_) == SQLITE_NOTADB || sqlite3_errcode(db_) == SQLITE_CORRUPT)
      msg += " (the file is corrupt or not a seatbridge database: move it aside to start afresh)";
    if (sqlite3_errcode(db_) == SQLITE_READONLY || sqlite3_errcode(db_) == SQLITE_CANTOPEN)
      msg += " (check that the daemon's user may write the file and its folder)";
    throw std::runtime_error(msg);
  }
}

int Store::schemaVersion() const {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string(sqlite3_errmsg(db_)) +
                             " (the file is corrupt or not a seatbridge database: move it aside to start afresh)");
  int v = 0;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

void Store::transaction(const std::function<void()>& fn) {
  exec("BEGIN IMMEDIATE");
  try {
    fn();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Store::migrate() {
  const int have = schemaVersion();
  const int want = latestSchemaVersion();
  if (have > want)
    throw std::runtime_error("schema version " + std::to_string(have) + " is newer than this build's " +
                             std::to_string(want) + "; run a newer seatbridged");
  for (int v = have; v < want; ++v) {
    transaction([&] {
      exec(migrations()[static_cast<size_t>(v)]);
      exec("PRAGMA user_version = " + std::to_string(v + 1));
    });
    SB_INFO("store", "migrated %s to schema version %d", path_.c_str(), v + 1);
  }
}

}  // namespace sb::store
