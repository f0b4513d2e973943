#pragma once
// RecordWriter: ended sessions reach the store from a thread of their own,
// through a SQLite connection of their own. The SIP thread hands a record over
// with one lock and a vector push; the commit, and the WAL checkpoint fsyncs
// that come with some commits, happen here. Written on the SIP thread from a
// timer, they stalled call handling by 58-133 ms at 300 calls/s (bench/calls,
// 2026-12-01). WAL mode lets the SIP thread's own connection read records and
// write registrations beside this one (SQLite allows one writer at a time: the
// other waits on the busy timeout, which a batch of records keeps short).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/records.hpp"

namespace sb::store {

class Store;

class RecordWriter {
 public:
  struct Options {
    std::string path;                        // the store's file (opened a second time)
    int retentionDays = 90;                  // records older than this are pruned, hourly
    std::function<int64_t()> wallClockMs;    // for the prune cutoff
    std::function<void()> onWriteFailure;    // counted by the caller's metric; any thread
  };
  // Opens the connection (throws std::runtime_error as Store::open does) and starts the thread.
  explicit RecordWriter(Options options);
  // Writes whatever is still queued, then stops the thread.
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Any thread; never waits for the disk.
  void submit(SessionRecord record);
  // Waits until every record submitted before the call is committed (or its
  // batch failed and was logged): for a reader that must see its own writes.
  void flush();
  uint64_t written() const;  // records committed so far
  void setRetentionDays(int days) { retentionDays_ = days; }  // a reload; any thread

 private:
  void run();
  void prune();
  void pruneGuarded();  // prune, a failure logged and counted

  Options options_;
  std::atomic<int> retentionDays_;
  std::unique_ptr<Store> store_;  // used on the writer thread only
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<SessionRecord> queue_;
  uint64_t submitted_ = 0;  // records handed over, ever
  uint64_t settled_ = 0;    // of those, how many are committed or given up
  uint64_t written_ = 0;
  bool flushWanted_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sb::store
