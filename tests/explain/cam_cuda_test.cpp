// The heatmaps and saliency on the CUDA backend against the CPU reference backend, every method,
// on a small model (also run on the CPU emulator of CUDA: emulated_explain_cuda). Everything of
// runtime/explain goes through Backend::forward/gradient/activation/logits, so this checks that
// those passes of the CUDA backend serve it: the forward of float (masked, noisy) inputs, the
// gradient with respect to a conv layer and to the input, and the logits. Skips without a GPU.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/explain/cam.h"
#include "runtime/explain/saliency.h"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/explain/explain_test_util.h"

using namespace acts;

namespace {

class CamCuda : public test::CudaTest {
 protected:
  Graph g{test::small_cam_model()};
  std::vector<uint8_t> px = test::small_images(g, 3, 21);
  std::unique_ptr<Backend> cpu, gpu;

  void SetUp() override {
    test::CudaTest::SetUp();
    if (IsSkipped()) return;
    BackendOptions o;
    o.max_batch = 4;  // Score-CAM's 3 x 6 masked inputs: 5 forwards, the last one partial
    o.cpu_reference = true;
    cpu = std::make_unique<CpuBackend>(g, o);
    gpu = make_cuda_backend(g, o);
    const std::vector<float> w = test::small_params(g, 4);
    cpu->set_params(w);
    gpu->set_params(w);
  }
  Batch batch() const {
    Batch b;
    b.n = 3;
    b.images = px.data();
    return b;
  }
};

TEST_F(CamCuda, EveryMethodGivesTheCpuReferenceMaps) {
  for (CamMethod m : {CamMethod::kGradCam, CamMethod::kGradCamSum, CamMethod::kGradCamPlusPlus, CamMethod::kLayerCam,
                      CamMethod::kScoreCam})
    for (const char* layer : {"conv2d_2", "conv2d_1"}) {
      CamRequest r;
      r.method = m;
      r.layer = layer;
      r.classes = {0, 1};
      const CamMaps a = compute_cam(*cpu, batch(), r), b = compute_cam(*gpu, batch(), r);
      const std::string what = std::string(cam_method_name(m)) + " on " + layer;
      ASSERT_EQ(b.maps.size(), a.maps.size()) << what;
      // cuDNN/cuBLAS sum in other orders than the reference loops: float rounding, then the
      // normalisation divides by the map's range.
      test::expect_close(what + " maps", b.maps.data(), a.maps.data(), a.maps.size(), 1e-4, 1e-4);
      test::expect_close(what + " scores", b.scores.data(), a.scores.data(), a.scores.size(), 1e-4, 1e-5);
    }
}

TEST_F(CamCuda, SaliencyAndSmoothGradGiveTheCpuReferenceMaps) {
  SaliencyRequest r;
  r.classes = {0, 1};
  for (int samples : {0, 2}) {
    r.samples = samples;
    const SaliencyMaps a = compute_saliency(*cpu, batch(), r), b = compute_saliency(*gpu, batch(), r);
    test::expect_close("saliency, samples " + std::to_string(samples), b.maps.data(), a.maps.data(), a.maps.size(),
                       1e-4, 1e-4);
  }
}

}  // namespace
