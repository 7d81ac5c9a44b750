// bench --profile: where one training step's time goes, op by op (Backend::profile_train_step),
// at each batch size, as a table on stdout: the median over repeats of each op's time, its share
// of the step, and the backend's chosen algorithms. This is the profile docs/benchmarks.md
// reads when a speed target is missed (what to fix first); it needs no profiler on the machine.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "runtime/core/backend.h"

namespace acts::bench {

// make(max_batch) builds the backend to profile. Returns the table text.
std::string profile_table(const Graph& g, const std::function<std::unique_ptr<Backend>(int)>& make,
                          const std::vector<int>& batches, int warmup, int repeats);

}  // namespace acts::bench
