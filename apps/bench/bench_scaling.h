// bench --scaling: how a training step's time grows with the batch size (1, 8, 20, 64, 256 at
// 150x150) and the input size (150, 300, 600 px at batch 8), the tutorial's CNN at each size (its
// Dense(512) grows with the flattened conv2d_4 output). Row ids are step_b<batch>_<size>.
// scripts/bench/bench_common.py mirrors the plan (scaling_plan()), check_bench_plan.py checks it.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_plan.h"
#include "bench_report.h"
#include "runtime/core/graph.h"

namespace acts::bench {

struct ScalingCell {
  int batch, size;
};

const std::vector<ScalingCell>& scaling_cells();
std::string scaling_id(const ScalingCell& c);  // "step_b8_300"
// GPU: 3 warm-up steps, 10 repeats of 5; CPU: 1 warm-up, 3 repeats of 1; --quick: 1 repeat
// after 1 warm-up; --repeats N: N repeats.
StepPlan scaling_plan(bool gpu, const Options& o);
nlohmann::json scaling_plan_json(bool gpu, const Options& o);
std::vector<Row> scaling_rows();
// What a training step at `batch` holds in memory on the CPU backend, bytes: every layer's
// output, two gradient buffers of the largest, the input, and the weights with their gradients
// and optimizer state (bf16: a rounded copy of the weights more). The working memory of the
// convolutions (im2col chunks, partial sums) comes on top, ~tens of MB.
size_t training_bytes(const Graph& g, int batch, bool bf16);

}  // namespace acts::bench
