// Op-by-op timing of one training step, for bench --profile: where a step's time goes, per
// layer and direction, on the backend that ran it. A backend's passes call Backend::mark() after
// each op's work is issued; the backend's OpClock attributes the time since the previous mark to
// that op (device events on the GPU, the host clock on the CPU, whose work is synchronous).
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace acts {

struct OpTime {
  std::string op;  // "conv2d_1 forward", "conv2d_3 backward-filter", "rmsprop"
  double ms = 0;
};

class OpClock {
 public:
  virtual ~OpClock() = default;
  virtual void start() = 0;                      // before the step's first op is issued
  virtual void mark(const std::string& op) = 0;  // `op`'s work has been issued since the last mark
  virtual std::vector<OpTime> finish() = 0;      // waits for the work; one entry per mark, in order
};

// The CPU backend's clock: steady_clock between marks.
class HostOpClock final : public OpClock {
 public:
  void start() override {
    times_.clear();
    last_ = std::chrono::steady_clock::now();
  }
  void mark(const std::string& op) override {
    const auto now = std::chrono::steady_clock::now();
    times_.push_back({op, std::chrono::duration<double, std::milli>(now - last_).count()});
    last_ = now;
  }
  std::vector<OpTime> finish() override { return times_; }

 private:
  std::vector<OpTime> times_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace acts
