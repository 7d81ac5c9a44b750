// Heatmaps and saliency on a small model: the CPU reference loops and the fast path agree, the
// two classes of a sigmoid head behave as the sign of z implies, Score-CAM's weights are real
// scores, batching does not change a result, and bad requests get one BadRequest line.
#include "runtime/explain/cam.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/explain/saliency.h"
#include "tests/compare.h"
#include "tests/explain/explain_test_util.h"

using namespace acts;
using acts::test::expect_close;

namespace {

constexpr CamMethod kAll[] = {CamMethod::kGradCam, CamMethod::kGradCamSum, CamMethod::kGradCamPlusPlus,
                              CamMethod::kLayerCam, CamMethod::kScoreCam};

struct Small {
  Graph g{test::small_cam_model()};
  std::vector<uint8_t> px = test::small_images(g, 3, 11);
  std::unique_ptr<CpuBackend> be;
  explicit Small(bool reference, int max_batch = 8) {
    BackendOptions o;
    o.cpu_reference = reference;
    o.max_batch = max_batch;
    be = std::make_unique<CpuBackend>(g, o);
    be->set_params(test::small_params(g, 3));
  }
  Batch batch() const {
    Batch b;
    b.n = 3;
    b.images = px.data();
    return b;
  }
  CamMaps cam(CamMethod m, std::vector<int> classes = {0, 1}, const std::string& layer = "") {
    CamRequest r;
    r.method = m;
    r.layer = layer;
    r.classes = std::move(classes);
    return compute_cam(*be, batch(), r);
  }
};

// What one bad request prints: the BadRequest's message.
template <typename F>
std::string bad_request(F&& f) {
  try {
    f();
  } catch (const BadRequest& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a BadRequest: ") + e.what();
  }
  return "no exception";
}

}  // namespace

TEST(CamMethod, NamesParseBackAndTheDefaultLayerIsTheLastConv) {
  for (CamMethod m : kAll) EXPECT_EQ(parse_cam_method(cam_method_name(m)), m);
  EXPECT_EQ(bad_request([] { parse_cam_method("gradcam+"); }),
            "heatmap method 'gradcam+' does not exist; use one of gradcam, gradcam-sum, gradcam++, layercam, "
            "scorecam");
  EXPECT_EQ(default_cam_layer(Graph(tutorial_model())), "conv2d_4");  // the book's last conv layer, not the pool
  EXPECT_EQ(default_cam_layer(Graph(test::small_cam_model())), "conv2d_2");
  ModelSpec dense_only;
  dense_only.height = dense_only.width = 4;
  dense_only.layers = {test::layer_spec(LayerType::Flatten), test::layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  EXPECT_EQ(bad_request([&] { default_cam_layer(Graph(dense_only)); }),
            "the model has no Conv2D layer before its flattening, so heatmaps have no default layer; name an "
            "(H, W, C) layer of flatten_1, dense_1");
}

TEST(Cam, BadRequestsNameTheLayerOrClassAndTheFix) {
  Small s(false);
  EXPECT_EQ(bad_request([&] { s.cam(CamMethod::kGradCam, {1}, "dense_1"); }),
            "layer 'dense_1' has no (H, W, C) output (its output is (None, 8)), so it has no heatmap; use a conv "
            "layer such as conv2d_2");
  EXPECT_EQ(bad_request([&] { s.cam(CamMethod::kScoreCam, {1}, "flatten_1"); }),
            "layer 'flatten_1' has no (H, W, C) output (its output is (None, 54)), so it has no heatmap; use a "
            "conv layer such as conv2d_2");
  EXPECT_EQ(bad_request([&] { s.cam(CamMethod::kGradCam, {1}, "conv9"); }),
            "layer 'conv9' does not exist; use one of conv2d_1, max_pooling2d_1, conv2d_2, max_pooling2d_2, "
            "flatten_1, dense_1, dense_2; heatmaps default to conv2d_2");
  EXPECT_EQ(bad_request([&] { s.cam(CamMethod::kGradCam, {2}); }),
            "class 2 does not exist: the model tells 2 classes apart (0 to 1)");
  EXPECT_EQ(bad_request([&] { s.cam(CamMethod::kScoreCam, {-1}); }),
            "class -1 does not exist: the model tells 2 classes apart (0 to 1)");
  SaliencyRequest r;
  r.classes = {2};
  EXPECT_EQ(bad_request([&] { compute_saliency(*s.be, s.batch(), r); }),
            "class 2 does not exist: the model tells 2 classes apart (0 to 1)");
  r.classes = {1};
  r.samples = -3;
  EXPECT_EQ(bad_request([&] { compute_saliency(*s.be, s.batch(), r); }),
            "SmoothGrad's samples -3 is negative; give 0 (vanilla saliency) or a positive count");
  CamRequest neg;
  neg.method = CamMethod::kScoreCam;
  neg.score_cam_batch = -1;
  EXPECT_EQ(bad_request([&] { compute_cam(*s.be, s.batch(), neg); }),
            "Score-CAM's batch -1 is negative; give 0 (the backend's) or a positive number");
}

// Shapes, ranges, scores, and the reference loops against the fast path, for every method on the
// default layer and one more.
TEST(Cam, ReferenceLoopsAndFastPathGiveTheSameMaps) {
  Small ref(true), fast(false);
  for (const std::string layer : {"", "conv2d_1"})
    for (CamMethod m : kAll) {
      const std::string what = std::string(cam_method_name(m)) + " on " + (layer.empty() ? "conv2d_2" : layer);
      const CamMaps a = ref.cam(m, {0, 1}, layer), b = fast.cam(m, {0, 1}, layer);
      ASSERT_EQ(a.n, 3);
      ASSERT_EQ(a.classes, 2);
      EXPECT_EQ(a.h, layer.empty() ? 6 : 16) << what;
      ASSERT_EQ(a.maps.size(), size_t(3 * 2 * a.h * a.w));
      for (float v : a.maps) ASSERT_TRUE(v >= 0.f && v <= 1.f) << what << ": " << v;
      expect_close(what + " maps", b.maps.data(), a.maps.data(), a.maps.size(), 1e-4, 1e-5);
      expect_close(what + " scores", b.scores.data(), a.scores.data(), a.scores.size(), 1e-5, 1e-6);
      expect_close(what + " weights", b.weights.data(), a.weights.data(), a.weights.size(), 1e-4, 1e-6);
      for (int i = 0; i < 3; ++i) EXPECT_EQ(a.scores[size_t(2 * i)], -a.scores[size_t(2 * i + 1)]) << "-z and z";
    }
  SaliencyRequest r;
  r.classes = {0, 1};
  for (int samples : {0, 3}) {
    r.samples = samples;
    const SaliencyMaps a = compute_saliency(*ref.be, ref.batch(), r), b = compute_saliency(*fast.be, fast.batch(), r);
    ASSERT_EQ(a.maps.size(), size_t(3 * 2 * 18 * 18));
    expect_close("saliency, samples " + std::to_string(samples), b.maps.data(), a.maps.data(), a.maps.size(), 1e-4,
                 1e-5);
  }
}

// Score -z against z: Grad-CAM's channel weights are negatives of each other, so before the ReLU
// the two maps are negatives too and after it their supports are disjoint; both have content.
// dump_acts --cam all: every method of one request at once (sharing the forward and gradients)
// gives each method's own compute_cam() bit for bit, in the order asked.
TEST(Cam, SeveralMethodsAtOnceEqualEachMethodAlone) {
  Small s(false);
  const std::vector<CamMethod> methods = {CamMethod::kLayerCam, CamMethod::kScoreCam, CamMethod::kGradCam,
                                          CamMethod::kGradCamPlusPlus, CamMethod::kGradCamSum};
  CamRequest r;
  r.classes = {1, 0};
  const std::vector<CamMaps> all = compute_cams(*s.be, s.batch(), r, methods);
  ASSERT_EQ(all.size(), methods.size());
  for (size_t j = 0; j < methods.size(); ++j) {
    const CamMaps one = s.cam(methods[j], {1, 0});
    SCOPED_TRACE(cam_method_name(methods[j]));
    EXPECT_EQ(all[j].maps, one.maps);
    EXPECT_EQ(all[j].scores, one.scores);
    EXPECT_EQ(all[j].weights, one.weights);
    EXPECT_EQ(all[j].h, one.h);
  }
}

TEST(Cam, GradCamOfTheTwoClassesDifferAsTheSignOfZImplies) {
  Small s(false);
  const CamMaps c = s.cam(CamMethod::kGradCam);
  const size_t P = size_t(c.h * c.w), C = size_t(c.channels);
  int both_have_content = 0;
  for (size_t i = 0; i < 3; ++i) {
    for (size_t ch = 0; ch < C; ++ch)
      EXPECT_EQ(c.weights[(i * 2 + 0) * C + ch], -c.weights[(i * 2 + 1) * C + ch]) << "image " << i;
    const float* m0 = &c.maps[(i * 2 + 0) * P];
    const float* m1 = &c.maps[(i * 2 + 1) * P];
    int on0 = 0, on1 = 0;
    for (size_t p = 0; p < P; ++p) {
      EXPECT_FALSE(m0[p] > 0 && m1[p] > 0) << "image " << i << " position " << p << ": both classes";
      on0 += m0[p] > 0;
      on1 += m1[p] > 0;
    }
    both_have_content += on0 > 0 && on1 > 0;
  }
  EXPECT_GE(both_have_content, 1) << "no image with both classes' maps non-empty: the check would be vacuous";
}

// A softmax over one sigmoid output is 1 for every masked input, which would make all weights
// equal; ours are the masked inputs' logits (and -logits for class 0), so they vary.
TEST(Cam, ScoreCamWeightsOnASigmoidHeadAreRealScores) {
  Small s(false);
  const CamMaps c = s.cam(CamMethod::kScoreCam);
  const size_t C = size_t(c.channels);
  ASSERT_EQ(c.weights.size(), 3 * 2 * C);
  for (size_t i = 0; i < 3; ++i) {
    const float* w0 = &c.weights[(i * 2 + 0) * C];
    const float* w1 = &c.weights[(i * 2 + 1) * C];
    EXPECT_NE(*std::min_element(w1, w1 + C), *std::max_element(w1, w1 + C)) << "image " << i;
    for (size_t ch = 0; ch < C; ++ch) EXPECT_EQ(w0[ch], -w1[ch]);
  }
  // Channel 2 of image 1 by hand: conv2d_2's (6, 6) plane upsampled to (18, 18) with the corners
  // aligned (source = output x 5 / 17, bilinear), min-max normalised, times the input; its logit
  // is the weight.
  s.be->forward(s.batch(), false);
  const std::vector<float> A = s.be->activation("conv2d_2");  // (3, 6, 6, 6)
  auto a = [&](int y, int x) { return double(A[((1 * 6 + size_t(y)) * 6 + size_t(x)) * 6 + 2]); };
  std::vector<double> up(18 * 18);
  for (int Y = 0; Y < 18; ++Y)
    for (int X = 0; X < 18; ++X) {
      const double sy = Y * 5.0 / 17, sx = X * 5.0 / 17;
      const int y0 = std::min(int(sy), 4), x0 = std::min(int(sx), 4);
      const double fy = sy - y0, fx = sx - x0;
      up[size_t(Y * 18 + X)] = (a(y0, x0) * (1 - fx) + a(y0, x0 + 1) * fx) * (1 - fy) +
                               (a(y0 + 1, x0) * (1 - fx) + a(y0 + 1, x0 + 1) * fx) * fy;
    }
  const auto [lo, hi] = std::minmax_element(up.begin(), up.end());
  ASSERT_GT(*hi - *lo, 1e-3) << "a dead channel would make the check vacuous";
  std::vector<float> masked(18 * 18 * 3);
  for (size_t p = 0; p < 18 * 18; ++p)
    for (size_t ch = 0; ch < 3; ++ch)
      masked[p * 3 + ch] = float(s.px[18 * 18 * 3 + p * 3 + ch] * (1.0 / 255) * (up[p] - *lo) / (*hi - *lo));
  Batch one;
  one.n = 1;
  one.inputs = masked.data();
  s.be->forward(one, false);
  EXPECT_NEAR(s.be->logits()[0], c.weights[(1 * 2 + 1) * C + 2], 1e-5);
  EXPECT_NEAR(-s.be->logits()[0], c.weights[(1 * 2 + 0) * C + 2], 1e-5);

  CamRequest r;
  r.method = CamMethod::kScoreCam;
  r.classes = {1};
  for (int per_forward : {1, 5}) {  // batching changes nothing
    r.score_cam_batch = per_forward;
    const CamMaps d = compute_cam(*s.be, s.batch(), r);
    for (size_t i = 0; i < 3; ++i)
      for (size_t ch = 0; ch < C; ++ch)
        EXPECT_NEAR(d.weights[i * C + ch], c.weights[(i * 2 + 1) * C + ch], 1e-6) << "batch " << per_forward;
    expect_close("score-cam maps, batch " + std::to_string(per_forward), d.maps.data() + 0, c.maps.data() + 36, 36,
                 1e-5, 1e-6);
  }
}

// Float inputs (the rescaled pixels) and uint8 images with the rescale give the same maps.
TEST(Cam, FloatInputsAndImagesGiveTheSameMaps) {
  Small s(false);
  std::vector<float> x(s.px.size());
  for (size_t k = 0; k < x.size(); ++k) x[k] = float(s.px[k]) * (1.f / 255.f);
  Batch fb;
  fb.n = 3;
  fb.inputs = x.data();
  for (CamMethod m : kAll) {
    CamRequest r;
    r.method = m;
    const CamMaps a = compute_cam(*s.be, s.batch(), r), b = compute_cam(*s.be, fb, r);
    EXPECT_EQ(a.maps, b.maps) << cam_method_name(m);
    EXPECT_EQ(a.classes, 2) << "no classes asked: every class";
  }
}

TEST(Saliency, SmoothGradIsReproducibleAndWithoutNoiseIsVanilla) {
  Small s(false);
  SaliencyRequest r;
  r.classes = {1, 0};
  const SaliencyMaps vanilla = compute_saliency(*s.be, s.batch(), r);
  const size_t HW = 18 * 18;
  for (size_t i = 0; i < 3; ++i)  // |d(-z)/dx| = |dz/dx|
    for (size_t p = 0; p < HW; ++p) ASSERT_EQ(vanilla.maps[(i * 2) * HW + p], vanilla.maps[(i * 2 + 1) * HW + p]);
  r.samples = 3;
  r.noise = 0;
  const SaliencyMaps quiet = compute_saliency(*s.be, s.batch(), r);
  expect_close("smoothgrad without noise", quiet.maps.data(), vanilla.maps.data(), vanilla.maps.size(), 1e-5, 1e-6);
  r.noise = 0.2f;
  const SaliencyMaps a = compute_saliency(*s.be, s.batch(), r), b = compute_saliency(*s.be, s.batch(), r);
  EXPECT_EQ(a.maps, b.maps) << "the same seed must give the same map";
  r.seed = 2;
  const SaliencyMaps c = compute_saliency(*s.be, s.batch(), r);
  EXPECT_GT(test::max_abs_diff(a.maps, c.maps), 1e-3) << "another seed, other noise";
  EXPECT_GT(test::max_abs_diff(a.maps, vanilla.maps), 1e-3) << "noise changes the map";
  // The generator: standard normal.
  double sum = 0, sum2 = 0;
  const int N = 200000;
  for (int k = 0; k < N; ++k) {
    const double z = smoothgrad_normal(7, uint64_t(k));
    sum += z;
    sum2 += z * z;
  }
  EXPECT_NEAR(sum / N, 0.0, 0.01);
  EXPECT_NEAR(sum2 / N, 1.0, 0.01);
}
