#include "store/registrations.hpp"

#include <sqlite3.h>

#include <memory>
#include <stdexcept>

#include "store/sql.hpp"
#include "store/store.hpp"

namespace sb::store {
namespace {
constexpr const char* kWhat = "bindings";
}  // namespace

std::vector<StoredBinding> loadBindings(Store& store, int64_t nowMs) {
  {
    Stmt del = prepare(store, "DELETE FROM bindings WHERE expires_at_ms <= ?", kWhat);
    sqlite3_bind_int64(del.get(), 1, nowMs);
    step(store, del.get(), kWhat);
  }
  Stmt st = prepare(store,
                    "SELECT extension, contact_key, uri, source, user_agent, call_id, cseq, expires_at_ms, updated_at_ms"
                    " FROM bindings ORDER BY extension, updated_at_ms",
                    kWhat);
  std::vector<StoredBinding> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    StoredBinding b;
    b.extension = column(st.get(), 0);
    b.key = column(st.get(), 1);
    b.uri = column(st.get(), 2);
    b.source = column(st.get(), 3);
    b.userAgent = column(st.get(), 4);
    b.callId = column(st.get(), 5);
    b.cseq = static_cast<uint32_t>(sqlite3_column_int64(st.get(), 6));
    b.expiresAtMs = sqlite3_column_int64(st.get(), 7);
    b.updatedAtMs = sqlite3_column_int64(st.get(), 8);
    out.push_back(std::move(b));
  }
  return out;
}

void replaceBindings(Store& store, const std::vector<std::string>& extensions, const std::vector<StoredBinding>& rows) {
  store.transaction([&] {
    Stmt del = prepare(store, "DELETE FROM bindings WHERE extension = ?", kWhat);
    for (const auto& ext : extensions) {
      bindText(del.get(), 1, ext);
      step(store, del.get(), kWhat);
    }
    Stmt ins = prepare(store,
                       "INSERT OR REPLACE INTO bindings (extension, contact_key, uri, source, user_agent, call_id,"
                       " cseq, expires_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       kWhat);
    for (const auto& b : rows) {
      bindText(ins.get(), 1, b.extension);
      bindText(ins.get(), 2, b.key);
      bindText(ins.get(), 3, b.uri);
      bindText(ins.get(), 4, b.source);
      bindText(ins.get(), 5, b.userAgent);
      bindText(ins.get(), 6, b.callId);
      sqlite3_bind_int64(ins.get(), 7, b.cseq);
      sqlite3_bind_int64(ins.get(), 8, b.expiresAtMs);
      sqlite3_bind_int64(ins.get(), 9, b.updatedAtMs);
      step(store, ins.get(), kWhat);
    }
  });
}

}  // namespace sb::store
