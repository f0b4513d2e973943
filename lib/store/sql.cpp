#include "store/sql.hpp"

#include "store/store.hpp"

namespace sb::store {

Stmt prepare(Store& store, const char* sql, const char* what) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(store.handle(), sql, -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(store.handle()));
  return Stmt(st);
}

void bindText(sqlite3_stmt* st, int i, const std::string& v) {
  sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string column(sqlite3_stmt* st, int i) {
  const auto* p = sqlite3_column_text(st, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

void step(Store& store, sqlite3_stmt* st, const char* what) {
  if (sqlite3_step(st) != SQLITE_DONE)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(store.handle()));
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

}  // namespace sb::store
