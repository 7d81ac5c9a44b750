// The CudaOp interface itself (runtime/cuda/cuda_op.h), op by op on the tutorial's layers plus
// Dropout, Activation and GlobalAveragePooling2D: a backward with dw = null (input gradient only,
// what heatmaps and filter patterns need) gives exactly the dx of a full backward and writes no
// parameter gradient; a full backward writes every gradient. The GPU twin of
// tests/cpu/cpu_ops_test.cpp; skips without a GPU, runs on the emulator (emulated_cuda_op_contract).
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/graph.h"
#include "runtime/cuda/cuda_op.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/test_models.h"

using namespace acts;
using namespace acts::test;

namespace {

class CudaOpContract : public CudaTest {};

TEST_F(CudaOpContract, InputGradientOnlyEqualsTheFullBackward) {
  const Graph g(test::op_contract_model());
  BackendOptions o;
  const int n = 2;
  const std::vector<float> w = init_params(g, 3);
  const uint64_t step = 5;
  auto d_step = upload(std::vector<uint64_t>{step});
  std::vector<float> x = random_floats(size_t(n) * g.input_size(), 1);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& nd = g.nodes()[i];
    SCOPED_TRACE(nd.spec.name);
    const std::unique_ptr<CudaOp> op = make_cuda_op(nd, CudaOpEnv{*ctx, o, uint32_t(i), [](const char*) {}});
    op->plan(n, size_t(64) << 20);
    DeviceBuffer<unsigned char> ws(std::max<size_t>(op->workspace_bytes(n), 1), "workspace");
    DeviceBuffer<float> scratch(std::max<size_t>(op->scratch_floats(n), 1), "scratch");
    // Parameters in the device layout: only Conv2D kernels differ from Keras' (cout, kh, kw, cin),
    // and random values serve either way.
    std::vector<DeviceBuffer<float>> wd, gd;
    std::vector<float*> wp, gp;
    for (int k : nd.params) {
      const ParamRef& p = g.params()[size_t(k)];
      wd.push_back(upload(std::vector<float>(w.begin() + long(p.offset), w.begin() + long(p.offset + p.size))));
      gd.push_back(poisoned(p.size));
      wp.push_back(wd.back().get());
      gp.push_back(gd.back().get());
    }
    auto d_x = upload(x);
    const size_t out_count = size_t(n) * nd.out_size;
    DeviceBuffer<float> d_out = op->aliases_input() ? DeviceBuffer<float>() : poisoned(out_count);
    float* y = op->aliases_input() ? d_x.get() : d_out.get();
    CudaForward f;
    f.n = n;
    f.training = true;
    f.x = d_x.get();
    f.y = y;
    f.w = wp.data();
    f.state = wp.data();
    f.step = d_step.get();
    f.workspace = ws.get();
    f.workspace_bytes = ws.bytes();
    op->forward(f);

    const std::vector<float> dy0 = random_floats(out_count, uint32_t(10 + i));
    auto run = [&](float* const* dw) {
      auto d_dy = upload(dy0);
      auto d_dx = poisoned(x.size());
      CudaBackward b;
      b.n = n;
      b.training = true;
      b.x = d_x.get();
      b.y = y;
      b.w = wp.data();
      b.dw = dw;
      b.dy = d_dy.get();
      b.dx = d_dx.get();
      b.step = d_step.get();
      b.workspace = ws.get();
      b.workspace_bytes = ws.bytes();
      b.scratch = scratch.get();
      b.scratch_floats = scratch.size();
      return op->backward(b) ? download(d_dx, x.size()) : download(d_dy, out_count);
    };
    const std::vector<float> full = run(gp.data());
    for (size_t k = 0; k < gd.size(); ++k)
      for (float v : download(gd[k], gd[k].size())) ASSERT_FALSE(std::isnan(v)) << "gradient " << k << " unwritten";
    for (auto& d : gd) d.poison(stream());
    const std::vector<float> only = run(nullptr);
    for (size_t k = 0; k < gd.size(); ++k)
      for (float v : download(gd[k], gd[k].size())) ASSERT_TRUE(std::isnan(v)) << "gradient " << k << " written";
    ASSERT_EQ(only.size(), full.size());
    for (size_t k = 0; k < full.size(); ++k) {
      ASSERT_FALSE(std::isnan(full[k])) << "dx[" << k << "] unwritten";
      ASSERT_EQ(only[k], full[k]) << "dx[" << k << "]";
    }
    if (!op->aliases_input()) x = download(d_out, out_count);  // the next node's input
  }
}

}  // namespace
