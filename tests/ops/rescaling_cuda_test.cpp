// Rescaling on the GPU: its kernels against the CPU reference (outputs poisoned first), and its
// CudaOp inside the CUDA backend against the CPU backend on the golden model of rescaling_test.cpp.
// Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/rescaling.h"
#include "kernels/cuda/rescaling.cuh"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cuda/cuda_backend.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/cuda/cuda_test_util.h"

using namespace acts;
using namespace acts::test;

namespace {

class RescalingCuda : public CudaTest {};

TEST_F(RescalingCuda, KernelsMatchTheReference) {
  const size_t n = 1037;  // not a multiple of a warp or a block
  const std::vector<float> x = random_floats(n, 7), dy = random_floats(n, 8);
  std::vector<float> y_ref(n), dx_ref(n);
  cpu::rescaling_forward(x.data(), n, 0.37f, -0.2f, y_ref.data());
  cpu::rescaling_backward(dy.data(), n, 0.37f, dx_ref.data());

  auto d_x = upload(x), d_dy = upload(dy);
  auto d_y = poisoned(n), d_dx = poisoned(n);
  gpu::rescaling_forward(d_x.get(), n, 0.37f, -0.2f, d_y.get(), stream());
  gpu::rescaling_backward(d_dy.get(), n, 0.37f, d_dx.get(), stream());
  // The forward may be one fused multiply-add on the GPU: within a rounding. The backward is one
  // correctly rounded product on both sides.
  expect_close("forward", download(d_y, n), y_ref, 1e-6, 1e-7);
  EXPECT_EQ(download(d_dx, n), dx_ref);
}

TEST_F(RescalingCuda, BackendStepMatchesTheCpuBackend) {
  std::ifstream f(std::string(ACTS_TEST_DATA) + "/ops/rescaling.json");
  const nlohmann::json golden = nlohmann::json::parse(f);
  const Graph graph(parse_keras_json(golden["model_json"].get<std::string>(), "golden"));
  BackendOptions o;
  o.max_batch = 3;
  o.cpu_reference = true;
  CpuBackend cpu(graph, o);
  CudaBackend cuda(graph, o);
  const std::vector<float> w = golden_params(graph), x = golden_inputs(5, 3 * graph.input_size());
  const std::vector<float> labels = golden["labels"].get<std::vector<float>>();
  Batch b;
  b.n = 3;
  b.inputs = x.data();
  b.labels = labels.data();
  for (Backend* be : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&cuda)}) {
    be->set_params(w);
    be->forward(b, true);
    be->backward(b);
  }
  for (const Node& nd : graph.nodes())
    expect_close("activation " + nd.spec.name, cuda.activation(nd.spec.name), cpu.activation(nd.spec.name), 1e-5,
                 1e-6);
  expect_close("gradients", cuda.grads(), cpu.grads(), 1e-4, 1e-6);
  cpu.update();
  cuda.update();
  expect_close("weights after one step", cuda.params(), cpu.params(), 1e-5, 1e-6);
}

}  // namespace
