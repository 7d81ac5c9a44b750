#include "checkpoint_writer.h"

#include <cstdio>

#include "runtime/errors.h"

namespace acts {

CheckpointWriter::CheckpointWriter() : thread_([this] { loop(); }) {}

CheckpointWriter::~CheckpointWriter() {
  try {
    flush();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void CheckpointWriter::submit(const std::string& path, Checkpoint c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    throw_if_failed();
    bool replaced = false;
    for (auto& [p, waiting] : pending_)
      if (p == path) {
        waiting = std::move(c);
        replaced = true;
      }
    if (!replaced) pending_.emplace_back(path, std::move(c));
  }
  work_.notify_one();
}

void CheckpointWriter::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return pending_.empty() && !writing_; });
  throw_if_failed();
}

void CheckpointWriter::throw_if_failed() {
  if (error_.empty()) return;
  const std::string e = std::move(error_);
  error_.clear();
  throw Error(e);
}

void CheckpointWriter::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stop_, nothing left
    auto [path, c] = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    lock.unlock();
    std::string failure;
    try {
      save_checkpoint(path, c);
    } catch (const Error& e) {
      failure = e.what();
    } catch (const std::exception& e) {
      failure = path + ": " + e.what();
    }
    lock.lock();
    writing_ = false;
    if (!failure.empty() && error_.empty()) error_ = failure;
    if (pending_.empty()) idle_.notify_all();
  }
}

}  // namespace acts
