#include "store/records.hpp"

#include <string>

#include "store/sql.hpp"
#include "store/store.hpp"

namespace sb::store {
namespace {
constexpr const char* kWhat = "session records";
}  // namespace

void appendRecords(Store& store, const std::vector<SessionRecord>& records) {
  if (records.empty()) return;
  store.transaction([&] {
    Stmt ins = prepare(store,
                       "INSERT OR REPLACE INTO session_records (session_id, ended_at_ms, user_id, end_state, record)"
                       " VALUES (?, ?, ?, ?, ?)",
                       kWhat);
    for (const auto& r : records) {
      bindText(ins.get(), 1, r.sessionId);
      sqlite3_bind_int64(ins.get(), 2, r.endedAtMs);
      bindText(ins.get(), 3, r.userId);
      bindText(ins.get(), 4, r.endState);
      bindText(ins.get(), 5, r.json);
      step(store, ins.get(), kWhat);
    }
  });
}

RecordPage queryRecords(Store& store, const RecordQuery& q) {
  // Every filter is a bound parameter; an absent one is NULL and matches all.
  Stmt st = prepare(store,
                    "SELECT ended_at_ms, session_id, record FROM session_records"
                    " WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR ended_at_ms >= ?2)"
                    " AND (?3 IS NULL OR ended_at_ms < ?3) AND (?4 IS NULL OR end_state = ?4)"
                    " AND (?5 IS NULL OR ended_at_ms < ?5 OR (ended_at_ms = ?5 AND session_id < ?6))"
                    " ORDER BY ended_at_ms DESC, session_id DESC LIMIT ?7",
                    kWhat);
  if (!q.userId.empty()) bindText(st.get(), 1, q.userId);
  if (q.fromMs) sqlite3_bind_int64(st.get(), 2, *q.fromMs);
  if (q.toMs) sqlite3_bind_int64(st.get(), 3, *q.toMs);
  if (!q.endState.empty()) bindText(st.get(), 4, q.endState);
  const size_t colon = q.before.find(':');
  if (colon != std::string::npos) {
    sqlite3_bind_int64(st.get(), 5, std::stoll(q.before.substr(0, colon)));
    bindText(st.get(), 6, q.before.substr(colon + 1));
  }
  const int limit = q.limit < 1 ? 1 : q.limit;
  sqlite3_bind_int(st.get(), 7, limit + 1);  // one more tells whether a next page exists
  RecordPage page;
  std::string lastCursor;
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    if (static_cast<int>(page.records.size()) == limit) {
      page.next = lastCursor;
      break;
    }
    lastCursor = std::to_string(sqlite3_column_int64(st.get(), 0)) + ":" + column(st.get(), 1);
    page.records.push_back(column(st.get(), 2));
  }
  return page;
}

int64_t pruneRecords(Store& store, int64_t olderThanMs) {
  Stmt del = prepare(store, "DELETE FROM session_records WHERE ended_at_ms < ?", kWhat);
  sqlite3_bind_int64(del.get(), 1, olderThanMs);
  step(store, del.get(), kWhat);
  return sqlite3_changes(store.handle());
}

}  // namespace sb::store
