#include "background_writer.h"

#include <cstdio>
#include <memory>

#include "runtime/core/errors.h"

namespace acts {

BackgroundWriter::BackgroundWriter() : thread_([this] { loop(); }) {}

BackgroundWriter::~BackgroundWriter() {
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

void BackgroundWriter::submit(const std::string& path, std::function<void()> write) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    throw_if_failed();
    bool replaced = false;
    for (auto& [p, waiting] : pending_)
      if (p == path) {
        waiting = std::move(write);
        replaced = true;
      }
    if (!replaced) pending_.emplace_back(path, std::move(write));
  }
  work_.notify_one();
}

void BackgroundWriter::submit(const std::string& path, Checkpoint c) {
  // std::function needs a copyable job: share the snapshot instead of copying 27 MB.
  auto snapshot = std::make_shared<const Checkpoint>(std::move(c));
  submit(path, [path, snapshot] { save_checkpoint(path, *snapshot); });
}

void BackgroundWriter::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return pending_.empty() && !writing_; });
  throw_if_failed();
}

void BackgroundWriter::throw_if_failed() {
  if (error_.empty()) return;
  const std::string e = std::move(error_);
  error_.clear();
  throw Error(e);
}

void BackgroundWriter::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and nothing is left
    auto [path, write] = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    lock.unlock();
    std::string failure;
    try {
      write();
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
