// The CPU backend (float) against an independent implementation: PyTorch in float64 configured
// to Keras semantics (scripts/reference/make_goldens.py wrote tests/fixtures/golden/; see its docstring).
//   forward150: every layer's output of the 150x150 tutorial model for one input;
//   train48:    loss, every gradient and the parameters after 3 RMSprop steps at 48x48, batch 4.
// Weights and inputs come from the shared formula in tests/cpu/golden_weights.h.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/core/npy.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"

using namespace acts;
using acts::test::expect_close;
using json = nlohmann::json;

namespace {

const std::string kDir = std::string(ACTS_TEST_DATA) + "/golden/";

json manifest() { return json::parse(read_file(kDir + "manifest.json")); }

std::vector<float> golden(const std::string& file) { return read_npy(kDir + file).to_float(); }

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

// Both CPU paths: the reference loops (the oracle of every other test) and the default fast path
// (oneDNN or im2col + OpenBLAS convolutions, OpenBLAS dense layers).
class GoldenOnBothCpuPaths : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Cpu, GoldenOnBothCpuPaths, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Reference" : "Fast"; });

}  // namespace

TEST(Golden, WeightAndInputFormulaMatchesThePythonTwin) {
  const json m = manifest()["forward150"];
  const Graph g(tutorial_model(150));
  const std::vector<float> w = test::golden_params(g);
  for (size_t i = 0; i < m["param_probe"]["index"].size(); ++i) {
    const size_t k = m["param_probe"]["index"][i];
    EXPECT_EQ(w.at(k), m["param_probe"]["value"][i].get<float>()) << "parameter " << k;
  }
  const std::vector<float> x = test::golden_inputs(2, g.input_size());
  for (size_t i = 0; i < m["input_probe"]["index"].size(); ++i) {
    const size_t k = m["input_probe"]["index"][i];
    EXPECT_EQ(x.at(k), m["input_probe"]["value"][i].get<float>()) << "input " << k;
  }
}

TEST_P(GoldenOnBothCpuPaths, Forward150MatchesPyTorchFloat64) {
  const json m = manifest()["forward150"];
  const Graph g(tutorial_model(m["image_size"]));
  BackendOptions o;
  o.max_batch = m["batch"];
  o.cpu_reference = GetParam();
  CpuBackend be(g, o);
  be.set_params(test::golden_params(g));
  const std::vector<float> x = test::golden_inputs(m["input_stream"], size_t(o.max_batch) * g.input_size());
  Batch b;
  b.n = o.max_batch;
  b.inputs = x.data();
  be.forward(b, false);
  ASSERT_EQ(m["layers"].size(), g.nodes().size());
  for (const json& l : m["layers"]) {
    const std::string name = l["name"];
    const std::vector<float> full = be.activation(name), ref = golden(l["file"]);
    const size_t stride = l["stride"];
    std::vector<float> got;  // the same flat[::stride] subsample the golden holds
    for (size_t k = 0; k < full.size(); k += stride) got.push_back(full[k]);
    // rtol 1e-5 as the float32 budget. atol for outputs near 0, where a K-term sum cancels to
    // almost nothing and only the absolute rounding of its terms is left: ~sqrt(K) 2^-24 of the
    // terms' size, i.e. up to 79 x 6e-8 = 5e-6 for dense_1 (K = 6272) and less for the convs,
    // relative to the layer's largest output (measured: <= 2.2e-6 with the sequential reference
    // loops, 7e-7 with OpenBLAS; PyTorch float32 vs float64: 1.1e-6).
    expect_close(name, got, ref, 1e-5, 5e-6 * max_abs(ref));
    double sum = 0;
    for (float v : full) sum += v;
    EXPECT_NEAR(sum, l["sum"].get<double>(), 1e-5 * std::fabs(l["sum"].get<double>())) << name << " sum";
  }
}

TEST_P(GoldenOnBothCpuPaths, Train48LossGradientsAndRmspropStepsMatchPyTorchFloat64) {
  const json m = manifest()["train48"];
  const Graph g(tutorial_model(m["image_size"]));
  BackendOptions o;
  o.max_batch = m["batch"];
  o.cpu_reference = GetParam();
  o.lr = m["lr"];
  o.rho = m["rho"];
  o.eps = m["eps"];
  CpuBackend be(g, o);
  be.set_params(test::golden_params(g));
  const std::vector<float> x = test::golden_inputs(m["input_stream"], size_t(o.max_batch) * g.input_size());
  const std::vector<float> labels = m["labels"].get<std::vector<float>>();
  Batch b;
  b.n = o.max_batch;
  b.inputs = x.data();
  b.labels = labels.data();
  ASSERT_EQ(m["params"].size(), g.params().size());
  const int steps = m["steps"];
  for (int step = 0; step < steps; ++step) {
    be.forward(b, true);
    be.backward(b);
    const double want = m["losses"][size_t(step)];
    EXPECT_NEAR(be.take_metrics().loss(), want, 1e-5 * want) << "loss of step " << step + 1;
    if (step == 0) {
      const std::vector<float> gr = be.grads();
      for (size_t i = 0; i < g.params().size(); ++i) {
        const ParamRef& p = g.params()[i];
        const json& f = m["params"][i];
        ASSERT_EQ(f["name"], p.name);
        const std::vector<float> ref = golden(f["grad"]);
        ASSERT_EQ(ref.size(), p.size) << p.name;
        // Gradients are batch sums over every output position, and with labels 1 0 0 1 on
        // similar images the per-image terms largely cancel: atol relative to the tensor's
        // largest gradient (measured: <= 1.1e-5 of it for dense_2/kernel, ~1e-6 elsewhere).
        expect_close("d " + p.name, gr.data() + p.offset, ref.data(), p.size, 1e-4, 3e-5 * max_abs(ref));
      }
    }
    be.update();
  }
  // RMSprop divides by sqrt(a) + eps with a = 0.1 g^2 after the first step, so an element whose
  // gradient is near 0 moves by lr g / (0.316 |g| + 1e-8), whose slope in g is up to lr / eps:
  // float32's rounding of such a gradient (a sum that cancels) is amplified into the weight.
  // make_goldens.py marks those weights (illcond: their float64 trajectory moves under
  // float32-sized gradient noise); they are held only to the bound every trajectory obeys
  // (RMSprop moves a weight by at most lr / sqrt(1 - rho) per step), all others tightly.
  const std::vector<float> w = be.params();
  const double max_step = o.lr / std::sqrt(1.0 - o.rho);
  size_t illcond = 0, total = 0;
  for (size_t i = 0; i < g.params().size(); ++i) {
    const ParamRef& p = g.params()[i];
    const std::vector<float> ref = golden(m["params"][i]["after3"]);
    const NpyArray mask = read_npy(kDir + m["params"][i]["illcond"].get<std::string>());
    ASSERT_EQ(mask.count(), p.size) << p.name;
    std::vector<float> got_tight, ref_tight, got_loose, ref_loose;
    for (size_t k = 0; k < p.size; ++k) {
      const bool loose = mask.u8()[k] != 0;
      (loose ? got_loose : got_tight).push_back(w[p.offset + k]);
      (loose ? ref_loose : ref_tight).push_back(ref[k]);
    }
    expect_close(p.name + " after 3 steps", got_tight, ref_tight, 1e-4, 1e-6);
    expect_close(p.name + " after 3 steps (ill-conditioned)", got_loose, ref_loose, 0, 2 * steps * max_step);
    illcond += got_loose.size();
    total += p.size;
  }
  EXPECT_LT(illcond, total / 20) << "the tight comparison must cover almost every weight";
}
