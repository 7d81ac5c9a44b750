// The --scaling plan and rows (bench_scaling.h).
#include "bench_scaling.h"

#include <algorithm>

namespace acts::bench {

const std::vector<ScalingCell>& scaling_cells() {
  static const std::vector<ScalingCell> cells = {{1, 150},   {8, 150}, {20, 150}, {64, 150},
                                                 {256, 150}, {8, 300}, {8, 600}};
  return cells;
}

std::string scaling_id(const ScalingCell& c) {
  return "step_b" + std::to_string(c.batch) + "_" + std::to_string(c.size);
}

StepPlan scaling_plan(bool gpu, const Options& o) {
  StepPlan p = gpu ? StepPlan{3, 10, 5} : StepPlan{1, 3, 1};
  if (o.quick) p = {1, 1, 1};
  if (o.repeats > 0) p.repeats = o.repeats;
  return p;
}

nlohmann::json scaling_plan_json(bool gpu, const Options& o) {
  const StepPlan p = scaling_plan(gpu, o);
  nlohmann::json cells = nlohmann::json::array();
  for (const ScalingCell& c : scaling_cells()) cells.push_back({c.batch, c.size});
  return {{"warmup", p.warmup}, {"repeats", p.repeats}, {"per_repeat", p.per_repeat}, {"cells", cells}};
}

std::vector<Row> scaling_rows() {
  std::vector<Row> rows;
  for (const ScalingCell& c : scaling_cells()) {
    Row r;
    r.id = scaling_id(c);
    r.what = "training step, batch " + std::to_string(c.batch) + ", " + std::to_string(c.size) + "x" +
             std::to_string(c.size);
    r.batch = c.batch;
    r.images = c.batch;
    r.unit = "step";
    r.gflop = c.batch * 3 * tutorial_forward_flop(c.size) / 1e9;
    rows.push_back(r);
  }
  return rows;
}

size_t training_bytes(const Graph& g, int batch, bool bf16) {
  size_t per_image = g.input_size(), largest = g.input_size();
  for (const Node& nd : g.nodes()) {
    per_image += nd.out_size;
    largest = std::max(largest, nd.out_size);
  }
  const size_t floats = size_t(batch) * (per_image + 2 * largest) + g.param_count() * (3 + (bf16 ? 1 : 0));
  return floats * sizeof(float);
}

}  // namespace acts::bench
