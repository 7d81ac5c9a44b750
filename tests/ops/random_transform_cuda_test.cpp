// The random image layers on the GPU: the kernel against the CPU reference for every kind, fill
// mode and interpolation on an odd-sized batch (output poisoned first, the step read from device
// memory), and the layers inside the CUDA backend against the CPU backend in training and in
// inference. Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cpu/random_transform.h"
#include "kernels/cuda/random_transform.cuh"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cuda/cuda_backend.h"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"

using namespace acts;
using namespace acts::test;

namespace {

class RandomTransformCuda : public CudaTest {};

std::vector<RandomTransform> every_kind() {
  std::vector<RandomTransform> ts;
  RandomTransform t;
  t.kind = RandomKind::kFlip, t.flip_h = true, t.flip_v = true;
  ts.push_back(t);
  t.kind = RandomKind::kRotation, t.lower = -0.3f, t.upper = 0.3f;
  for (FillMode m : {FillMode::kReflect, FillMode::kWrap, FillMode::kConstant, FillMode::kNearest}) {
    t.fill = m, t.fill_value = 0.5f;
    ts.push_back(t);
  }
  t.bilinear = false;
  ts.push_back(t);
  t.bilinear = true, t.fill = FillMode::kReflect;
  t.kind = RandomKind::kZoom, t.lower = -0.4f, t.upper = 0.5f, t.has_width = false;
  ts.push_back(t);
  t.kind = RandomKind::kTranslation, t.lower = -0.3f, t.upper = 0.2f, t.wlower = -0.5f, t.wupper = 0.5f;
  ts.push_back(t);
  return ts;
}

TEST_F(RandomTransformCuda, KernelMatchesTheReference) {
  const int N = 5, H = 13, W = 11, C = 3;
  const size_t count = size_t(N) * H * W * C;
  const std::vector<float> x = random_floats(count, 4, 0.f, 255.f);
  const uint64_t step = 9;
  auto d_x = upload(x);
  auto d_step = upload(std::vector<uint64_t>{step});
  for (const RandomTransform& t : every_kind()) {
    std::vector<float> want(count);
    cpu::random_transform_forward(x.data(), want.data(), N, H, W, C, t, 3, step, 2);
    auto d_y = poisoned(count);
    gpu::random_transform_forward(d_x.get(), d_y.get(), N, H, W, C, t, 3, d_step.get(), 2, stream());
    // The GPU may fuse the coordinates' multiply-adds: positions agree within ~1e-5 px, values
    // (0-255) within the slope of the image between neighbours times that.
    expect_close("kind " + std::to_string(int(t.kind)) + " fill " + std::to_string(int(t.fill)) +
                     (t.bilinear ? " bilinear" : " nearest"),
                 download(d_y, count), want, 1e-3, 1e-2);
  }
}

TEST_F(RandomTransformCuda, LayersInTheBackendMatchTheCpuBackend) {
  const Graph g(parse_keras_json(R"({"class_name": "Sequential", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 12, 10, 3], "name": "input"}},
    {"class_name": "RandomFlip", "config": {"name": "flip", "mode": "horizontal"}},
    {"class_name": "RandomRotation", "config": {"name": "rot", "factor": 0.1}},
    {"class_name": "RandomZoom", "config": {"name": "zoom", "height_factor": 0.2}},
    {"class_name": "RandomTranslation", "config": {"name": "shift", "height_factor": 0.1, "width_factor": 0.2}},
    {"class_name": "Rescaling", "config": {"name": "rescaling", "scale": 0.00392156862745098, "offset": 0.0}},
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 2, "kernel_size": 3, "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}]}})",
                                 "m.json"));
  const std::vector<float> x = random_floats(3 * g.input_size(), 5, 0.f, 255.f), labels = {1, 0, 1};
  Batch b;
  b.n = 3;
  b.inputs = x.data();
  b.labels = labels.data();
  BackendOptions o;
  o.max_batch = 3;
  o.cpu_reference = true;
  CpuBackend cpu(g, o);
  CudaBackend cuda(g, o);
  const std::vector<float> w = init_params(g, 5);
  for (bool training : {false, true}) {
    for (Backend* be : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&cuda)}) {
      be->set_params(w);
      be->set_step(6);
      be->forward(b, training);
    }
    for (const char* name : {"flip", "rot", "zoom", "shift", "dense"})
      expect_close(std::string(training ? "training " : "inference ") + name, cuda.activation(name),
                   cpu.activation(name), 1e-3, 1e-2);
  }
}

}  // namespace
