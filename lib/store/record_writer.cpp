#include "store/record_writer.hpp"

#include <chrono>
#include <stdexcept>

#include "common/log.hpp"
#include "store/store.hpp"

namespace sb::store {
namespace {
// A batch is written at the latest this long after its first record, or at
// once when it grows this big: one transaction per second under any load.
constexpr auto kBatchDelay = std::chrono::seconds(1);
constexpr size_t kBatchMax = 2000;
constexpr auto kPruneEvery = std::chrono::hours(1);
}  // namespace

RecordWriter::RecordWriter(Options options) : options_(std::move(options)), retentionDays_(options_.retentionDays), store_(Store::open(options_.path)) {
  thread_ = std::thread([this] { run(); });
}

RecordWriter::~RecordWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void RecordWriter::submit(SessionRecord record) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    // The first record of a batch starts its clock; a full batch goes at once.
    wake = queue_.empty() || queue_.size() + 1 >= kBatchMax;
    queue_.push_back(std::move(record));
    ++submitted_;
  }
  if (wake) wake_.notify_one();
}

void RecordWriter::flush() {
  std::unique_lock lock(mutex_);
  const uint64_t target = submitted_;
  if (settled_ >= target) return;
  flushWanted_ = true;
  wake_.notify_one();
  done_.wait(lock, [&] { return settled_ >= target; });
}

uint64_t RecordWriter::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

void RecordWriter::prune() {
  const int days = retentionDays_;
  const int64_t cutoff = options_.wallClockMs() - static_cast<int64_t>(days) * 86'400'000;
  const int64_t n = pruneRecords(*store_, cutoff);
  if (n > 0) SB_INFO("store", "deleted %lld session records older than %d days", static_cast<long long>(n), days);
}

void RecordWriter::pruneGuarded() {
  try {
    prune();
  } catch (const std::exception& e) {
    SB_ERROR("store", "pruning session records failed: %s", e.what());
    if (options_.onWriteFailure) options_.onWriteFailure();
  }
}

void RecordWriter::run() {
  pruneGuarded();  // at start, then hourly
  auto nextPrune = std::chrono::steady_clock::now() + kPruneEvery;
  std::unique_lock lock(mutex_);
  for (;;) {
    // Wait for the first record of a batch, then for the batch to fill or age
    // (a flush or the stop cuts the wait short).
    if (queue_.empty()) wake_.wait_for(lock, kBatchDelay, [&] { return stop_ || !queue_.empty(); });
    if (!queue_.empty() && !stop_ && !flushWanted_ && queue_.size() < kBatchMax)
      wake_.wait_for(lock, kBatchDelay, [&] { return stop_ || flushWanted_ || queue_.size() >= kBatchMax; });
    std::vector<SessionRecord> batch;
    batch.swap(queue_);
    const uint64_t upTo = submitted_;
    flushWanted_ = false;
    const bool stopping = stop_;
    lock.unlock();
    bool ok = true;
    if (!batch.empty()) {
      try {
        appendRecords(*store_, batch);
      } catch (const std::exception& e) {
        ok = false;
        SB_ERROR("store", "writing %zu session records failed: %s", batch.size(), e.what());
        if (options_.onWriteFailure) options_.onWriteFailure();
      }
    }
    if (std::chrono::steady_clock::now() >= nextPrune) {
      nextPrune = std::chrono::steady_clock::now() + kPruneEvery;
      pruneGuarded();
    }
    lock.lock();
    settled_ = upTo;
    if (ok) written_ += batch.size();
    done_.notify_all();
    if (stopping && queue_.empty()) return;
  }
}

}  // namespace sb::store
