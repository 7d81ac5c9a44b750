// What every op's CUDA test shares (tests/ops/<name>_cuda_test.cpp): one training step of the
// op's golden model (tests/fixtures/ops/<name>.json) on the CUDA backend against the CPU backend.
#pragma once
#include <string>
#include <vector>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/cuda/cuda_backend.h"
#include "tests/ops/op_golden.h"

namespace acts::test {

inline void expect_cuda_step_matches_cpu(const std::string& op) {
  OpGoldenRun run(op);
  BackendOptions o;
  o.max_batch = 3;
  o.cpu_reference = true;
  CpuBackend cpu(run.graph, o);
  CudaBackend cuda(run.graph, o);
  const std::vector<float> w = golden_params(run.graph);
  for (Backend* be : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&cuda)}) {
    be->set_params(w);
    be->forward(run.batch(), true);
    be->backward(run.batch());
  }
  for (const Node& nd : run.graph.nodes())
    expect_close("activation " + nd.spec.name, cuda.activation(nd.spec.name), cpu.activation(nd.spec.name), 1e-5,
                 1e-6);
  expect_close("gradients", cuda.grads(), cpu.grads(), 1e-4, 1e-6);
  cpu.update();
  cuda.update();
  expect_close("weights after one step", cuda.params(), cpu.params(), 1e-5, 1e-6);
}

}  // namespace acts::test
