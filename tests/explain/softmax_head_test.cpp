// Heatmaps of a softmax head Dense(3, softmax): a class's score is its pre-softmax logit z_k (its
// gradient at the layer before the head is exactly the head's kernel column k, which the
// gradient through the softmax is not), every CAM method runs unchanged over three classes with
// the logits as its scores, and Score-CAM's weights are logits of the masked inputs (not
// probabilities).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/explain/cam.h"
#include "runtime/explain/class_score.h"
#include "tests/compare.h"
#include "tests/explain/explain_test_util.h"

using namespace acts;
using acts::test::expect_close;

namespace {

ModelSpec softmax_cam_model() {
  ModelSpec m = test::small_cam_model();
  m.layers.back() = test::layer_spec(LayerType::Dense, 3, Act::Softmax);
  return m;
}

struct SoftmaxSmall {
  Graph g{softmax_cam_model()};
  std::vector<uint8_t> px = test::small_images(g, 3, 11);
  std::unique_ptr<CpuBackend> be;
  SoftmaxSmall() {
    BackendOptions o;
    o.max_batch = 8;
    be = std::make_unique<CpuBackend>(g, o);
    be->set_params(test::small_params(g, 3));
  }
  Batch batch() const {
    Batch b;
    b.n = 3;
    b.images = px.data();
    return b;
  }
};

TEST(SoftmaxHeadScore, AClassScoreIsItsLogitWhoseGradientIsTheKernelColumn) {
  SoftmaxSmall s;
  EXPECT_EQ(class_count(s.g), 3);
  EXPECT_FALSE(opposite_class_scores(s.g));
  const Objective o = class_score(s.g, {2, 0, 1});
  EXPECT_EQ(o.target, (std::vector<int>{2, 0, 1}));
  EXPECT_TRUE(o.pre_activation);
  s.be->forward(s.batch(), false);
  const std::vector<float> z = s.be->logits();  // (3, 3)
  EXPECT_EQ(class_score_values(s.g, z, 3, 2), (std::vector<float>{z[2], z[5], z[8]}));
  std::vector<std::vector<float>> grads;
  s.be->gradient(o, {"dense_1"}, grads);  // (3, 8)
  const ParamRef& kernel = s.g.params()[size_t(s.g.nodes().back().kernel)];  // (8, 3)
  const std::vector<float> w = s.be->params();
  for (int i = 0; i < 3; ++i) {
    const int k = o.target[size_t(i)];
    for (size_t j = 0; j < 8; ++j)
      EXPECT_EQ(grads[0][size_t(i) * 8 + j], w[kernel.offset + j * 3 + size_t(k)]) << "image " << i << " unit " << j;
  }
  EXPECT_THROW(class_score(s.g, {3}), BadRequest);
}

TEST(SoftmaxHeadScore, EveryCamMethodRunsOverThreeClassesWithTheLogitsAsScores) {
  SoftmaxSmall s;
  s.be->forward(s.batch(), false);
  const std::vector<float> z = s.be->logits();
  for (CamMethod m : {CamMethod::kGradCam, CamMethod::kGradCamSum, CamMethod::kGradCamPlusPlus, CamMethod::kLayerCam,
                      CamMethod::kScoreCam}) {
    CamRequest r;
    r.method = m;
    r.classes = {0, 1, 2};
    const CamMaps c = compute_cam(*s.be, s.batch(), r);
    const std::string tag = cam_method_name(m);
    ASSERT_EQ(c.maps.size(), 3u * 3 * 6 * 6) << tag;
    EXPECT_TRUE(std::all_of(c.maps.begin(), c.maps.end(), [](float v) { return v >= 0 && v <= 1; })) << tag;
    expect_close(tag + " scores", c.scores, z, 0, 0);
    if (m != CamMethod::kScoreCam) continue;
    // Score-CAM: logits of the masked inputs, so not probabilities: some are outside [0, 1].
    EXPECT_TRUE(std::any_of(c.weights.begin(), c.weights.end(), [](float v) { return v < 0 || v > 1; }));
  }
}

}  // namespace
