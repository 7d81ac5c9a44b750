// bench --explain: the heatmap and filter-pattern cases of issue 20, timed as the peers in
// scripts/bench/bench_explain_peers.py time them (TensorFlow's GradientTape, PyTorch autograd) on
// the same model, weights (tests/cpu/golden_weights.h: golden_params, also in the peers) and photos:
//   gradcam_1    Grad-CAM of conv2d_4 for 1 image, both classes        per run
//   gradcam_32   the same for a batch of 32 images                     per run
//   scorecam_1   Score-CAM of conv2d_4's 128 channels for 1 image, both classes, masked inputs in
//                batches of 32                                          per run
//   filters_128  filter patterns of conv2d_4's 128 filters, one batch of 128, 40 steps   per run
// A run is what a caller waits for: from the uint8 photos in host memory to the maps / patterns in
// host memory. Grad-CAM: one forward, one gradient per class (class 1 = the logit z, class 0 = -z).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_plan.h"
#include "bench_report.h"
#include "bench_timer.h"
#include "runtime/core/backend.h"

namespace acts::bench {

struct ExplainPlan {
  StepPlan gradcam_1, gradcam_32, scorecam_1, filters_128;
  int filter_steps = 40;  // --quick: fewer, and the row says so
  int scorecam_batch = 32;
  const StepPlan& steps(const std::string& id) const;
};

ExplainPlan make_explain_plan(bool gpu, const Options& o);
nlohmann::json explain_plan_json(const ExplainPlan& p);
std::vector<Row> explain_rows(const ExplainPlan& p, const std::string& photos_note);

// Photos (count, 150, 150, 3) uint8 in host memory, the first `count` of `dir` (an x.npy/y.npy
// folder, or class folders when built with OpenCV), cycled when it has fewer; random pixels when
// dir is empty. `note` says which.
std::vector<uint8_t> explain_photos(const std::string& dir, const Graph& g, int count, std::string& note);

// Times one explain row into `row` (ms = median over the plan's repeats, after its warm-ups).
void time_explain(Row& row, const Graph& g, const ExplainPlan& p, const std::vector<uint8_t>& photos, Clock& clock,
                  const std::function<std::unique_ptr<Backend>(int max_batch)>& make);

}  // namespace acts::bench
