// Interval timing for the bench program. The CPU clock is steady_clock. The GPU clock uses CUDA
// events, but the backends run on their own streams, which events on the default stream do not
// order against; so both ends of an interval first wait for the whole device
// (cudaDeviceSynchronize) and only then record their event. The interval therefore covers all
// work issued between start() and stop_ms(), on every stream, including host launch overhead:
// what a user of the backend waits for.
#pragma once
#include <memory>
#include <string>

namespace acts::bench {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual void start() = 0;
  virtual double stop_ms() = 0;  // ms since start(), after all work issued since then has finished
  virtual std::string describe() const = 0;
};

std::unique_ptr<Clock> make_cpu_clock();
// Throws acts::Error when this build has no CUDA runtime.
std::unique_ptr<Clock> make_gpu_clock();

}  // namespace acts::bench
