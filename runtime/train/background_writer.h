// Writes the run folder's per-epoch files (checkpoints, history.csv, curves.png) on a background
// thread. Serialising, checksumming and fsync-ing a 27.6 MB checkpoint took 60-135 ms on the
// development VM, once or twice per epoch, and the small files' atomic writes ~25 ms more: seconds
// over the tutorial's 30 epochs, while a GPU epoch is a fraction of a second. The caller takes
// its snapshot (host copies) and submits a job; the thread runs it (every job writes atomically:
// never a half-written file) while training goes on.
//
// Only the newest pending job per path runs: one submitted while an older one for the same path
// still waits replaces it. A failed job is reported by the next submit() or flush() as an
// acts::Error naming the file; flush() waits until every job submitted has run, and the
// destructor flushes too (printing, not throwing, a failure).
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "runtime/core/checkpoint.h"

namespace acts {

class BackgroundWriter {
 public:
  BackgroundWriter();
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  // `write` creates or replaces `path` (atomically); it may throw acts::Error.
  void submit(const std::string& path, std::function<void()> write);
  void submit(const std::string& path, Checkpoint c);  // save_checkpoint(path, c)
  void flush();

 private:
  void loop();
  void throw_if_failed();  // with mu_ held

  std::mutex mu_;
  std::condition_variable work_, idle_;
  std::deque<std::pair<std::string, std::function<void()>>> pending_;
  bool writing_ = false, stop_ = false;
  std::string error_;  // the first failure, until reported
  std::thread thread_;
};

}  // namespace acts
