// Our heatmaps and saliency against a reference implementation on the same weights and photos:
// the book's Grad-CAM code and tf-keras-vis 0.8 (Gradcam, GradcamPlusPlus, Layercam, Scorecam,
// Saliency with and without SmoothGrad) on tf-keras, written to tests/fixtures/explain/ by
// scripts/reference/make_cam_goldens.py (see its docstring): the tutorial model with the goldens'
// generated weights (tests/cpu/golden_weights.h), two photos of data/sample/test.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "runtime/core/npy.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/explain/cam.h"
#include "runtime/explain/saliency.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/explain/explain_test_util.h"

using namespace acts;

namespace {

const std::string kDir = std::string(ACTS_TEST_DATA) + "/explain/";

std::vector<float> golden(const std::string& name, std::vector<size_t> shape) {
  const NpyArray a = read_npy(kDir + name + ".npy");
  EXPECT_EQ(a.shape, shape) << name;
  return a.to_float();
}

// The tutorial model with the goldens' weights, on the fast CPU path (Score-CAM runs 2 x 128
// masked photos; the reference loops are compared with the fast path in cam_test.cpp).
struct Tutorial {
  Graph g{tutorial_model()};
  NpyArray x = read_npy(kDir + "x.npy");  // (2, 150, 150, 3) uint8
  std::unique_ptr<CpuBackend> be;
  Tutorial() {
    BackendOptions o;
    o.max_batch = 32;
    be = std::make_unique<CpuBackend>(g, o);
    be->set_params(test::golden_params(g));
  }
  Batch batch() const {
    Batch b;
    b.n = 2;
    b.images = x.u8();
    return b;
  }
  CamMaps cam(CamMethod m, const std::string& layer) {
    CamRequest r;
    r.method = m;
    r.layer = layer;
    r.classes = {0, 1};
    return compute_cam(*be, batch(), r);
  }
};

Tutorial& tutorial() {
  static Tutorial t;
  return t;
}

// Maps are in [0, 1]: an absolute tolerance on the normalised values. Float32 on both sides,
// sums in other orders (oneDNN/OpenBLAS here, Eigen there); measured at most 3.1e-6 (Score-CAM,
// Grad-CAM 2.7e-6, Grad-CAM++ 7.7e-7, LayerCAM 6.0e-7), so 1e-4 leaves room for other BLAS
// builds and CPUs while a wrong formula (a mean for a sum, a missing ReLU, another alpha) is off
// by 1e-2 or more.
struct Case {
  const char* golden;
  CamMethod method;
  const char* layer;
  int h;
  double atol;
};
const Case kCases[] = {
    {"book_gradcam_conv2d_4", CamMethod::kGradCam, "conv2d_4", 15, 1e-4},
    {"book_gradcam_conv2d_3", CamMethod::kGradCam, "conv2d_3", 34, 1e-4},
    {"gradcam_conv2d_4", CamMethod::kGradCamSum, "conv2d_4", 15, 1e-4},
    {"gradcampp_conv2d_4", CamMethod::kGradCamPlusPlus, "conv2d_4", 15, 1e-4},
    {"layercam_conv2d_4", CamMethod::kLayerCam, "conv2d_4", 15, 1e-4},
    {"scorecam_conv2d_4", CamMethod::kScoreCam, "conv2d_4", 15, 1e-4},
};

}  // namespace

TEST(CamReference, ClassScoresAreTheLogitAndItsNegative) {
  Tutorial& t = tutorial();
  const std::vector<float> ref = golden("scores", {2, 2});
  const CamMaps c = t.cam(CamMethod::kGradCam, "conv2d_4");
  test::expect_close("scores (-z, z)", c.scores.data(), ref.data(), 4, 1e-4, 1e-6);
}

TEST(CamReference, EveryMethodMatchesTheReference) {
  Tutorial& t = tutorial();
  for (const Case& k : kCases) {
    const std::vector<float> ref = golden(k.golden, {2, 2, size_t(k.h), size_t(k.h)});
    const CamMaps c = t.cam(k.method, k.layer);
    ASSERT_EQ(c.h, k.h);
    test::expect_close(k.golden, c.maps.data(), ref.data(), ref.size(), 0.0, k.atol);
    std::cout << k.golden << ": max |ours - reference| " << test::max_abs_diff(c.maps, ref) << "\n";
    int with_content = 0;  // the comparison must not be one of empty maps
    for (size_t m = 0; m < 4; ++m) {
      float top = 0;
      for (size_t p = 0; p < size_t(k.h * k.h); ++p) top = std::max(top, ref[m * size_t(k.h * k.h) + p]);
      with_content += top > 0.5f;
    }
    EXPECT_GE(with_content, 3) << k.golden;
  }
}

TEST(CamReference, SaliencyAndSmoothGradMatchTfKerasVis) {
  Tutorial& t = tutorial();
  SaliencyRequest r;
  r.classes = {1};
  const SaliencyMaps vanilla = compute_saliency(*t.be, t.batch(), r);
  const std::vector<float> ref = golden("saliency", {2, 1, 150, 150});
  test::expect_close("saliency", vanilla.maps.data(), ref.data(), ref.size(), 0.0, 1e-4);
  std::cout << "saliency: max |ours - reference| " << test::max_abs_diff(vanilla.maps, ref) << "\n";
  r.samples = 4;  // tf-keras-vis with our noise generator (smoothgrad_normal, seed 1)
  r.noise = 0.2f;
  r.seed = 1;
  const SaliencyMaps smooth = compute_saliency(*t.be, t.batch(), r);
  const std::vector<float> sref = golden("smoothgrad", {2, 1, 150, 150});
  // Noisy inputs meet near-ties: in one of the 8 noisy photos one max-pooling window (or ReLU)
  // of a deep layer decides the other way than TensorFlow's (float sums in other orders), which
  // moves the gradient in that unit's receptive field: one blob of 325 pixels (rows 72-93,
  // columns 24-41 of the dog), up to 2.5e-3. Everywhere else 1e-4, as vanilla saliency.
  ASSERT_EQ(smooth.maps.size(), sref.size());
  size_t beyond = 0;
  for (size_t k = 0; k < sref.size(); ++k) beyond += std::fabs(smooth.maps[k] - sref[k]) > 1e-4f;
  EXPECT_LE(beyond, sref.size() / 100) << "smoothgrad: pixels off by more than 1e-4";
  test::expect_close("smoothgrad", smooth.maps.data(), sref.data(), sref.size(), 0.0, 5e-3);
  std::cout << "smoothgrad: max |ours - reference| " << test::max_abs_diff(smooth.maps, sref) << ", " << beyond
            << " of " << sref.size() << " pixels beyond 1e-4\n";
}
