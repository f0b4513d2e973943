#pragma once
// Small RAII and binding helpers over SQLite's C API, shared by the store's
// tables. Errors throw std::runtime_error prefixed with the table's name.
#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace sb::store {

class Store;

struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, Finalize>;

Stmt prepare(Store& store, const char* sql, const char* what);
void bindText(sqlite3_stmt* st, int i, const std::string& v);
std::string column(sqlite3_stmt* st, int i);
// Runs a statement that returns no rows, then resets it for the next bindings.
void step(Store& store, sqlite3_stmt* st, const char* what);

}  // namespace sb::store
