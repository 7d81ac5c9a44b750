// Backend::gradient on both CPU paths against TensorFlow's GradientTape (float64) on the tutorial
// model with the goldens' weights: scripts/reference/make_gradient_goldens.py wrote
// tests/fixtures/explain/gradients/ (its docstring lists the cases: a class score's gradient to
// the input and to conv2d_4 and conv2d_2, a channel mean's, an element before its activation).
// Big gradients are stored as a subsample plus float64 sums of the whole (tests/golden_store.h).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/core/npy.h"
#include "runtime/cpu/cpu_backend.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/golden_store.h"

using namespace acts;
using json = nlohmann::json;

namespace {

const std::string kDir = std::string(ACTS_TEST_DATA) + "/explain/gradients/";

Objective objective_of(const json& c) {
  Objective o;
  o.layer = c["layer"];
  o.kind = c["kind"] == "channel_mean" ? Objective::Kind::kChannelMean : Objective::Kind::kElement;
  o.pre_activation = c["pre_activation"];
  o.target = c["target"].get<std::vector<int>>();
  return o;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

class GradientGolden : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Cpu, GradientGolden, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Reference" : "Fast"; });

TEST_P(GradientGolden, EveryCaseMatchesTensorFlowGradientTape) {
  const json m = json::parse(read_file(kDir + "manifest.json"));
  const Graph g(tutorial_model(m["image_size"]));
  const std::unique_ptr<Backend> be = test::golden_backend_after_forward(g, m["batch"], m["input_stream"], GetParam());
  ASSERT_EQ(m["cases"].size(), 3u);
  for (const json& c : m["cases"]) {
    std::vector<std::string> wrt;
    for (const json& w : c["wrt"]) wrt.push_back(w["layer"]);
    std::vector<std::vector<float>> got(wrt.size(), std::vector<float>(7, NAN));  // poisoned: must be replaced
    be->gradient(objective_of(c), wrt, got);
    for (size_t k = 0; k < wrt.size(); ++k) {
      const json& w = c["wrt"][k];
      const std::string name = c["name"].get<std::string>() + " d/d " + (wrt[k].empty() ? "input" : wrt[k]);
      size_t count = 1;
      for (int d : w["shape"]) count *= size_t(d);
      ASSERT_EQ(got[k].size(), count) << name;
      const std::vector<float> ref = read_npy(kDir + w["file"].get<std::string>()).to_float();
      // float32 against float64: rtol 1e-4 per element with an atol of 1e-5 of the largest
      // gradient for elements that sum to almost nothing (TF's own float32 run: <= 2.3e-7 of the
      // largest, printed by the script).
      test::expect_close(name, test::sampled(got[k].data(), count, w["stride"]), ref, 1e-4, 1e-5 * max_abs(ref));
      test::expect_whole_tensor(kDir, name, got[k].data(), count, w, 1e-4);
    }
  }
}

}  // namespace
