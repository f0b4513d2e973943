#include "media/recorder.hpp"

#include <sndfile.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "common/log.hpp"

namespace sb::media {

struct Recorder::File {
  SNDFILE* handle = nullptr;
  std::string path;
  int channels = 1;
  bool failed = false;
};

Recorder::Recorder(Failed failed, RecorderFolder folder, size_t maxQueuedBytes)
    : failed_(std::move(failed)), folder_(std::move(folder)), maxQueuedBytes_(maxQueuedBytes), thread_([this] { run(); }) {}

Recorder::~Recorder() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  for (auto& [id, f] : files_)
    if (f.handle) sf_close(f.handle);
}

void Recorder::open(uint64_t id, std::string path, int channels) {
  std::lock_guard lock(mutex_);
  queue_.push_back(Job{Job::Kind::open, id, std::move(path), channels, {}});
  wake_.notify_one();
}

void Recorder::write(uint64_t id, std::vector<int16_t> interleaved) {
  const size_t bytes = interleaved.size() * sizeof(int16_t);
  std::lock_guard lock(mutex_);
  if (queuedBytes_ + bytes > maxQueuedBytes_) {
    ++counters_.blocksDropped;
    return;
  }
  queuedBytes_ += bytes;
  queue_.push_back(Job{Job::Kind::write, id, {}, 0, std::move(interleaved)});
  wake_.notify_one();
}

void Recorder::close(uint64_t id) {
  std::lock_guard lock(mutex_);
  queue_.push_back(Job{Job::Kind::close, id, {}, 0, {}});
  wake_.notify_one();
}

void Recorder::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

RecorderCounters Recorder::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void Recorder::run() {
  constexpr auto kSweepEvery = std::chrono::hours(1);
  if (!folder_.path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(folder_.path, ec);
    if (ec) SB_WARN("media", "recording.path %s: %s; recordings will fail", folder_.path.c_str(), ec.message().c_str());
    sweep();
  }
  auto nextSweep = std::chrono::steady_clock::now() + kSweepEvery;
  std::unique_lock lock(mutex_);
  busy_ = false;  // the folder is ready: flush() may return
  if (queue_.empty()) idle_.notify_all();
  for (;;) {
    wake_.wait_until(lock, nextSweep, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && !stopping_) {  // the hour is up
      lock.unlock();
      sweep();
      lock.lock();
      nextSweep = std::chrono::steady_clock::now() + kSweepEvery;
      continue;
    }
    if (queue_.empty()) return;  // stopping, and everything written
    Job job = std::move(queue_.front());
    queue_.pop_front();
    queuedBytes_ -= job.samples.size() * sizeof(int16_t);
    busy_ = true;
    lock.unlock();
    perform(job);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

// Writer thread. Only *.wav directly in the folder: what seatbridge wrote there.
void Recorder::sweep() {
  if (folder_.path.empty() || folder_.retentionDays <= 0) return;
  namespace fs = std::filesystem;
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24) * folder_.retentionDays;
  std::unordered_set<std::string> open;
  for (const auto& [id, f] : files_)
    if (f.handle) open.insert(f.path);
  std::error_code ec;
  uint64_t expired = 0;
  for (fs::directory_iterator it(folder_.path, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".wav" || !it->is_regular_file(ec) || open.count(p.string())) continue;
    const auto written = fs::last_write_time(p, ec);
    if (ec || written >= cutoff) continue;
    if (fs::remove(p, ec)) ++expired;
  }
  if (ec) SB_WARN("media", "recording.path %s: %s", folder_.path.c_str(), ec.message().c_str());
  if (expired == 0) return;
  SB_INFO("media", "recordings: %llu older than %d days deleted", static_cast<unsigned long long>(expired),
          folder_.retentionDays);
  std::lock_guard lock(mutex_);
  counters_.filesExpired += expired;
}

void Recorder::fail(uint64_t id, File& f, const std::string& why) {
  if (f.handle) sf_close(f.handle);
  f.handle = nullptr;
  f.failed = true;
  {
    std::lock_guard lock(mutex_);
    ++counters_.failures;
  }
  if (failed_) failed_(id, why);
}

void Recorder::perform(Job& job) {
  switch (job.kind) {
    case Job::Kind::open: {
      File& f = files_[job.id];
      if (f.handle) sf_close(f.handle);
      f = File{nullptr, job.path, job.channels, false};
      // An existing recording of the same shape is appended to (SFM_RDWR
      // keeps its header and fixes the length up on close).
      SF_INFO info{};
      f.handle = sf_open(job.path.c_str(), SFM_RDWR, &info);
      if (f.handle && (info.channels != job.channels || info.samplerate != 8000 ||
                       (info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV)) {
        sf_close(f.handle);
        f.handle = nullptr;
      }
      if (f.handle) {
        sf_seek(f.handle, 0, SEEK_END);
      } else {
        info = SF_INFO{};
        info.samplerate = 8000;
        info.channels = job.channels;
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        f.handle = sf_open(job.path.c_str(), SFM_WRITE, &info);
      }
      if (!f.handle) fail(job.id, f, std::string("cannot open ") + job.path + ": " + sf_strerror(nullptr));
      return;
    }
    case Job::Kind::write: {
      auto it = files_.find(job.id);
      if (it == files_.end() || !it->second.handle) {
        std::lock_guard lock(mutex_);
        ++counters_.blocksDropped;
        return;
      }
      File& f = it->second;
      const auto frames = static_cast<sf_count_t>(job.samples.size() / static_cast<size_t>(f.channels));
      errno = 0;
      const sf_count_t wrote = sf_writef_short(f.handle, job.samples.data(), frames);
      if (wrote != frames) {
        // A full disk (ENOSPC) is the likely one; libsndfile's own text names it otherwise.
        const std::string why = errno ? std::strerror(errno) : sf_strerror(f.handle);
        fail(job.id, f, "writing failed: " + why);
        return;
      }
      std::lock_guard lock(mutex_);
      counters_.bytesWritten += static_cast<uint64_t>(wrote) * static_cast<uint64_t>(f.channels) * sizeof(int16_t);
      return;
    }
    case Job::Kind::close: {
      auto it = files_.find(job.id);
      if (it == files_.end()) return;
      if (it->second.handle && sf_close(it->second.handle) != 0)
        SB_WARN("media", "recording %llu: closing it failed", static_cast<unsigned long long>(job.id));
      files_.erase(it);
      return;
    }
  }
}

}  // namespace sb::media
