#pragma once
// Call recordings' files (docs/MEDIA.md, "Recording"): WAV, 16-bit
// linear PCM at 8000 Hz, one or two channels, written by libsndfile on a
// thread of its own so that a slow, full or unwritable disk never stalls the
// media thread, and so never the call's audio. The media thread hands it
// blocks of interleaved samples; what fails is reported once per file and the
// rest of that file's blocks are dropped, the call going on.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sb::media {

struct RecorderCounters {
  uint64_t bytesWritten = 0;   // sample bytes that reached libsndfile without error
  uint64_t blocksDropped = 0;  // blocks given up: the queue was full, or their file had failed
  uint64_t failures = 0;       // files that could not be opened or written
  uint64_t filesExpired = 0;   // deleted by the retention sweep
};

// recording.path and recording.retentionDays: the folder is created when the
// writer starts; with a retention, its WAV files older than that are deleted
// then and hourly (a file being written is never touched).
struct RecorderFolder {
  std::string path;
  int retentionDays = 0;
};

class Recorder {
 public:
  // Called on the writer thread, once per failed file: `id` as given to open().
  using Failed = std::function<void(uint64_t id, const std::string& why)>;
  // `maxQueuedBytes`: samples waiting for the disk, all files together;
  // beyond it new blocks are dropped (a disk this slow loses audio, not calls).
  explicit Recorder(Failed failed, RecorderFolder folder = {}, size_t maxQueuedBytes = 16u << 20);
  ~Recorder();  // writes what is queued, closes every file
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Any thread, in order per id. open() creates `path` or, when it is a WAV
  // of the same channel count already, appends to it (a recording stopped and
  // started again stays one file).
  void open(uint64_t id, std::string path, int channels);
  void write(uint64_t id, std::vector<int16_t> interleaved);
  void close(uint64_t id);
  // Blocks until everything queued so far is on disk (tests, shutdown).
  void flush();

  RecorderCounters counters() const;

 private:
  struct Job {
    enum class Kind { open, write, close } kind;
    uint64_t id = 0;
    std::string path;
    int channels = 1;
    std::vector<int16_t> samples;
  };
  struct File;
  void run();
  void perform(Job& job);
  void fail(uint64_t id, File& f, const std::string& why);
  void sweep();

  Failed failed_;
  const RecorderFolder folder_;
  const size_t maxQueuedBytes_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<Job> queue_;      // guarded by mutex_
  size_t queuedBytes_ = 0;     // guarded by mutex_
  bool busy_ = true;           // guarded by mutex_: a job (or the first sweep) is being performed
  bool stopping_ = false;      // guarded by mutex_
  RecorderCounters counters_;  // guarded by mutex_
  std::unordered_map<uint64_t, File> files_;  // writer thread only
  std::thread thread_;
};

}  // namespace sb::media
