#pragma once
// The embedded database (SQLite; why in docs/ARCHITECTURE.md). One file at
// storage.path holds what must survive a restart. The schema is versioned with
// PRAGMA user_version and upgraded by the ordered migrations in store.cpp.
#include <functional>
#include <memory>
#include <string>

struct sqlite3;

namespace sb::store {

class Store {
 public:
  // Opens (creating when missing) and migrates. Throws std::runtime_error with a
  // message an operator can act on when the file is corrupt, unwritable or newer
  // than this build.
  static std::unique_ptr<Store> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schemaVersion() const;
  static int latestSchemaVersion();
  sqlite3* handle() const { return db_; }

  // Runs `fn` inside one transaction; rolls back when it throws.
  void transaction(const std::function<void()>& fn);
  // Executes SQL without results; throws std::runtime_error on failure.
  void exec(const std::string& sql);

 private:
  explicit Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void migrate();
  sqlite3* db_;
  std::string path_;
};

}  // namespace sb::store
