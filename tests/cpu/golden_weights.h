// The deterministic weights and inputs of the golden tests, generated rather than stored (the
// tutorial model has 3.45M parameters). C++ twin of uniform()/golden_params()/golden_inputs() in
// scripts/reference/make_goldens.py; keep the two identical:
//   fmix32(h): h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13; h *= 0xC2B2AE35; h ^= h >> 16  (mod 2^32)
//   u(stream, k) = fmix32((k + stream * 0x9E3779B9) mod 2^32) / 2^32              (double in [0, 1))
//   parameters (stream 1, k = index in the flat parameter vector, Keras order and layouts):
//     kernel: float(limit * (2u - 1)), limit = sqrt(6 / (fan_in + fan_out));  bias: float(0.1 * (2u - 1))
//     a tensor Keras starts at one (ParamInit::Ones: BatchNormalization's gamma and moving_variance):
//     float(1 + 0.1 * (2u - 1))  (scripts/reference/ops/op_golden.py; make_goldens.py has no such layer)
//   inputs: float(u), k = flat NHWC index over the batch; stream 2 for forward150, 3 for train48
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/core/graph.h"

namespace acts::test {

inline double golden_uniform(uint32_t stream, uint64_t k) {
  uint32_t h = uint32_t(k + uint64_t(stream) * 0x9E3779B9u);
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return double(h) / 4294967296.0;
}

inline std::vector<float> golden_params(const Graph& g) {
  std::vector<float> w(g.param_count());
  for (const ParamRef& p : g.params()) {
    const bool kernel = p.shape.size() > 1;
    double limit = 0.1;
    if (kernel) {
      double receptive = 1;
      for (size_t d = 0; d + 2 < p.shape.size(); ++d) receptive *= p.shape[d];
      limit = std::sqrt(6.0 / (receptive * p.shape[p.shape.size() - 2] + receptive * p.shape.back()));
    }
    const double base = p.init == ParamInit::Ones ? 1.0 : 0.0;
    for (size_t i = 0; i < p.size; ++i)
      w[p.offset + i] = float(base + limit * (2.0 * golden_uniform(1, p.offset + i) - 1.0));
  }
  return w;
}

inline std::vector<float> golden_inputs(uint32_t stream, size_t count) {
  std::vector<float> x(count);
  for (size_t k = 0; k < count; ++k) x[k] = float(golden_uniform(stream, k));
  return x;
}

// The golden tests' setup: a CPU backend (the reference loops, or the fast path) for batches of
// n holding golden_params(g), after an inference forward of the n inputs golden_inputs(stream).
inline std::unique_ptr<Backend> golden_backend_after_forward(const Graph& g, int n, uint32_t stream,
                                                             bool reference) {
  BackendOptions o;
  o.max_batch = n;
  o.cpu_reference = reference;
  std::unique_ptr<Backend> be = make_cpu_backend(g, o);
  be->set_params(golden_params(g));
  const std::vector<float> x = golden_inputs(stream, size_t(n) * g.input_size());
  Batch b;
  b.n = n;
  b.inputs = x.data();
  be->forward(b, false);  // the backend keeps its own copy of the inputs
  return be;
}

}  // namespace acts::test
