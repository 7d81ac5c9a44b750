// Writes the trainer's checkpoints on a background thread. Serialising, checksumming and
// fsync-ing a 27.6 MB checkpoint took 60-135 ms on the development VM, once or twice per epoch:
// seconds over the tutorial's 30 epochs, while a GPU epoch is a fraction of a second. The caller
// takes its snapshot (host copies of the weights and state) and submits it; the thread writes
// it atomically (save_checkpoint: never a half-written file) while training goes on.
//
// Only the newest pending checkpoint per path is written: one submitted while an older one for
// the same path still waits replaces it. A failed write is reported by the next submit() or
// flush() as an acts::Error naming the file; flush() waits until everything submitted is on
// disk, and the destructor flushes too (printing, not throwing, a failure).
#pragma once
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "runtime/checkpoint.h"

namespace acts {

class CheckpointWriter {
 public:
  CheckpointWriter();
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  void submit(const std::string& path, Checkpoint c);
  void flush();

 private:
  void loop();
  void throw_if_failed();  // with mu_ held

  std::mutex mu_;
  std::condition_variable work_, idle_;
  std::deque<std::pair<std::string, Checkpoint>> pending_;
  bool writing_ = false, stop_ = false;
  std::string error_;  // the first failure, until reported
  std::thread thread_;
};

}  // namespace acts
