#pragma once
// Ended sessions in the store (table `session_records`, schema version 3): the
// archive behind Gateway.listRecords and `seatbridgectl records`. The SIP thread
// appends them in batches from a timer, never while handling a call, and prunes
// what is older than the retention.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::store {

class Store;

struct SessionRecord {
  std::string sessionId;
  int64_t endedAtMs = 0;  // wall clock
  std::string userId;     // the agent who had it last (may be empty)
  std::string endState;
  std::string json;  // the whole record as Gateway.listSessions shows it
};

// Newest first. `before` is the cursor a previous page answered with.
struct RecordQuery {
  std::string userId;             // empty: every agent's
  std::optional<int64_t> fromMs;  // endedAt >= fromMs
  std::optional<int64_t> toMs;    // endedAt < toMs
  std::string endState;           // empty: any
  int limit = 100;
  std::string before;  // "" or "ENDEDATMS:SESSIONID" of the last row of the previous page
};

struct RecordPage {
  std::vector<std::string> records;  // JSON texts, newest first
  std::string next;                  // cursor for the next page, empty when this was the last
};

// In one transaction; a record already there (same sessionId) is replaced.
void appendRecords(Store& store, const std::vector<SessionRecord>& records);
RecordPage queryRecords(Store& store, const RecordQuery& q);
// Deletes records that ended before `olderThanMs`; returns how many.
int64_t pruneRecords(Store& store, int64_t olderThanMs);

}  // namespace sb::store
