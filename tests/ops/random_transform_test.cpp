// The random image layers (RandomFlip, RandomRotation, RandomZoom, RandomTranslation): their Keras
// configs; the CPU reference against Keras 3's own layers in training mode on the TensorFlow
// backend (tests/fixtures/ops/random_transform.json, scripts/reference/ops/
// make_random_transform_golden.py: each factor a range of one value, so the transform is known;
// every fill_mode and both interpolations); the draws (ranges, per image, per step, reproducible);
// inference = identity; the fast path = the reference; where the layers may stand; bad configs.
#include "kernels/cpu/random_transform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/ops/op.h"
#include "runtime/ops/random_transform.h"
#include "tests/compare.h"
#include "tests/ops/op_golden.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::model_error;
using acts::test::op_golden;

namespace {

// A Keras 3 model: Input (12, 10, 3), `layers` (JSON of layer entries), then Rescaling, Conv2D,
// Flatten, Dense(1, sigmoid).
std::string model_with(const std::string& layers) {
  return R"({"class_name": "Sequential", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 12, 10, 3], "name": "input"}},)" +
         layers + R"(
    {"class_name": "Rescaling", "config": {"name": "rescaling", "scale": 0.00392156862745098, "offset": 0.0}},
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 2, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}]}})";
}

const char* kAugmentation = R"(
    {"class_name": "RandomFlip", "config": {"name": "flip", "mode": "horizontal", "seed": null}},
    {"class_name": "RandomRotation", "config": {"name": "rot", "factor": 0.1, "fill_mode": "reflect",
      "interpolation": "bilinear", "seed": null, "fill_value": 0.0}},
    {"class_name": "RandomZoom", "config": {"name": "zoom", "height_factor": [-0.2, 0.3], "width_factor": null}},
    {"class_name": "RandomTranslation", "config": {"name": "shift", "height_factor": 0.1, "width_factor": [0.0, 0.2]}},)";

TEST(RandomTransform, KerasConfigsParseToTheirRangesAndRoundTrip) {
  const Graph g(parse_keras_json(model_with(kAugmentation), "m.json"));
  for (const char* name : {"flip", "rot", "zoom", "shift"}) {
    EXPECT_EQ(g.node(name).out_shape, (std::vector<int>{12, 10, 3})) << name;
    EXPECT_EQ(g.node(name).param_count, 0u) << name;
  }
  EXPECT_NE(g.summary().find("rot (RandomRotation)"), std::string::npos) << g.summary();
  EXPECT_TRUE(rescales_its_input(g.spec()));  // augmentation first, then Rescaling: pixels go in as 0-255
  const RandomTransform flip = random_transform_of(g.node("flip").spec);
  EXPECT_TRUE(flip.flip_h);
  EXPECT_FALSE(flip.flip_v);
  const RandomTransform rot = random_transform_of(g.node("rot").spec);
  EXPECT_EQ(rot.kind, RandomKind::kRotation);
  EXPECT_FLOAT_EQ(rot.lower, -0.1f);  // one number f: [-f, f]
  EXPECT_FLOAT_EQ(rot.upper, 0.1f);
  EXPECT_EQ(rot.fill, FillMode::kReflect);
  const RandomTransform zoom = random_transform_of(g.node("zoom").spec);
  EXPECT_FLOAT_EQ(zoom.lower, -0.2f);
  EXPECT_FLOAT_EQ(zoom.upper, 0.3f);
  EXPECT_FALSE(zoom.has_width);  // width_factor null: one draw zooms both axes
  const RandomTransform shift = random_transform_of(g.node("shift").spec);
  EXPECT_FLOAT_EQ(shift.lower, -0.1f);
  EXPECT_FLOAT_EQ(shift.wupper, 0.2f);
  const Graph again(parse_keras_json(to_keras_json(g.spec()), "round trip"));
  EXPECT_EQ(again.summary(), g.summary());
  for (const char* name : {"flip", "rot", "zoom", "shift"})
    EXPECT_EQ(again.node(name).spec.attrs, g.node(name).spec.attrs) << name;
}

// The second edition nests its augmentation in a Sequential model used as a layer.
TEST(RandomTransform, ANestedSequentialIsTakenInLine) {
  const std::string nested = R"(
    {"class_name": "Sequential", "config": {"name": "data_augmentation", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 12, 10, 3], "name": "inner_input"}},
      {"class_name": "RandomFlip", "config": {"name": "flip", "mode": "horizontal"}},
      {"class_name": "RandomRotation", "config": {"name": "rot", "factor": 0.1}}]}},)";
  const Graph g(parse_keras_json(model_with(nested), "m.json"));
  EXPECT_EQ(g.nodes()[0].spec.name, "flip");
  EXPECT_EQ(g.nodes()[1].spec.name, "rot");
  EXPECT_EQ(g.nodes()[2].spec.name, "rescaling");
  // Keras files keep a nested model's weights under its own name: only weightless layers nest.
  const std::string with_weights = R"(
    {"class_name": "Sequential", "config": {"name": "block", "layers": [
      {"class_name": "Conv2D", "config": {"name": "inner_conv", "filters": 2, "kernel_size": 3}}]}},)";
  EXPECT_NE(model_error(model_with(with_weights))
                .find("m.json: layer block (Sequential): a nested Sequential model holds a Conv2D layer; only "
                      "preprocessing layers"),
            std::string::npos)
      << model_error(model_with(with_weights));
}

TEST(RandomTransform, ReferenceMatchesKerasOnEveryFillModeAndInterpolation) {
  const nlohmann::json g = op_golden("random_transform");
  const std::vector<int> shape = g["input_shape"];
  const int N = shape[0], H = shape[1], W = shape[2], C = shape[3];
  const std::vector<float> x = g["input"];
  for (const nlohmann::json& c : g["cases"]) {
    const std::string name = c["name"];
    const ModelSpec m = parse_keras_json(c["model_json"].get<std::string>(), name);
    ASSERT_EQ(m.layers.size(), 1u) << name;
    const RandomTransform t = random_transform_of(m.layers[0]);
    const std::vector<float> want = c["output"];
    std::vector<float> y(x.size(), NAN);
    cpu::random_transform_forward(x.data(), y.data(), N, H, W, C, t, 1, 0, 0);
    if (t.kind != RandomKind::kFlip) {
      // Keras computes the matrix in float32, we in double: coordinates agree within ~1e-6 px.
      expect_close(name, y, want, 2e-5, 2e-5);
      continue;
    }
    const size_t per = size_t(H) * W * C;  // the flip is drawn per image: flipped as Keras, or untouched
    for (int n = 0; n < N; ++n) {
      const bool flipped = transform_uniform(1, 0, 0, uint64_t(n), 0) <= 0.5f;
      const std::vector<float> got(y.begin() + n * per, y.begin() + (n + 1) * per);
      const std::vector<float> ref(flipped ? want.begin() + n * per : x.begin() + n * per,
                                   flipped ? want.begin() + (n + 1) * per : x.begin() + (n + 1) * per);
      EXPECT_EQ(got, ref) << name << " image " << n << (flipped ? " (flipped)" : " (kept)");
    }
  }
}

// The draws follow the configured ranges, differ per image and per step, and repeat for the
// same (seed, step, layer, image).
TEST(RandomTransform, DrawsCoverTheirRangesPerImageAndStep) {
  RandomTransform rot;
  rot.kind = RandomKind::kRotation;
  rot.lower = -0.1f, rot.upper = 0.25f;
  double lo = 1e9, hi = -1e9;
  int flips = 0;
  RandomTransform flip;
  for (uint64_t image = 0; image < 4000; ++image) {
    float a[6], b[6];
    random_affine(rot, 7, 3, 2, image, 20, 30, a);
    random_affine(rot, 7, 3, 2, image, 20, 30, b);
    ASSERT_TRUE(std::equal(a, a + 6, b));
    const double deg = std::atan2(a[3], a[0]) * 180 / M_PI;
    lo = std::min(lo, deg), hi = std::max(hi, deg);
    random_affine(flip, 7, 3, 2, image, 20, 30, a);
    flips += a[0] < 0;
  }
  EXPECT_GE(lo, -36.0 - 1e-3);
  EXPECT_LE(hi, 90.0 + 1e-3);
  EXPECT_LT(lo, -35.0);  // the whole range is drawn
  EXPECT_GT(hi, 89.0);
  EXPECT_NEAR(flips, 2000, 200);  // a fair coin
  float s0[6], s1[6], i1[6];
  random_affine(rot, 7, 3, 2, 0, 20, 30, s0);
  random_affine(rot, 7, 4, 2, 0, 20, 30, s1);
  random_affine(rot, 7, 3, 2, 1, 20, 30, i1);
  EXPECT_NE(s0[0], s1[0]);  // another step, another angle
  EXPECT_NE(s0[0], i1[0]);  // another image, another angle
}

// In the model: training warps (the reference and fast CPU paths alike, bit for bit), inference
// passes the input through.
TEST(RandomTransform, TrainingWarpsInferencePassesThroughFastEqualsReference) {
  const Graph g(parse_keras_json(model_with(kAugmentation), "m.json"));
  Batch b;
  b.n = 3;
  std::vector<float> x(3 * g.input_size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 37) % 251);
  b.inputs = x.data();
  std::vector<float> labels = {1, 0, 1};
  b.labels = labels.data();
  BackendOptions ref_opt, fast_opt;
  ref_opt.cpu_reference = true;
  ref_opt.max_batch = fast_opt.max_batch = 3;
  CpuBackend ref(g, ref_opt), fast(g, fast_opt);
  const std::vector<float> w = init_params(g, 5);
  ref.set_params(w);
  fast.set_params(w);
  ref.forward(b, false);
  EXPECT_EQ(ref.activation("shift"), x);  // inference: the identity, through all four
  ref.set_step(11);
  fast.set_step(11);
  ref.forward(b, true);
  fast.forward(b, true);
  const std::vector<float> warped = ref.activation("shift");
  EXPECT_NE(warped, x);
  EXPECT_EQ(fast.activation("shift"), warped);
  for (const char* name : {"flip", "rot", "zoom", "shift"})
    EXPECT_EQ(fast.activation(name), ref.activation(name)) << name;
  // A training step runs through them (the gradient stops being needed at the first weights).
  ref.backward(b);
  for (float v : ref.grads()) ASSERT_TRUE(std::isfinite(v));
}

TEST(RandomTransform, BadConfigsAndPlacesAreRefusedInOneLine) {
  const auto layer = [](const std::string& cls, const std::string& cfg) {
    return model_with(R"({"class_name": ")" + cls + R"(", "config": {"name": "aug", )" + cfg + "}},");
  };
  EXPECT_NE(model_error(layer("RandomRotation", R"("factor": 0.1, "fill_mode": "mirror")"))
                .find("m.json: layer aug (RandomRotation): fill_mode \"mirror\" is not one of reflect, wrap, constant, "
                      "nearest"),
            std::string::npos);
  EXPECT_NE(model_error(layer("RandomZoom", R"("height_factor": 0.1, "interpolation": "bicubic")"))
                .find("interpolation \"bicubic\" is not supported (bilinear or nearest)"),
            std::string::npos);
  EXPECT_NE(model_error(layer("RandomRotation", R"("factor": 1.5)")).find("factor 1.5 is outside [-1, 1]"),
            std::string::npos);
  EXPECT_NE(
      model_error(layer("RandomRotation", R"("factor": [0.1, 0.2, 0.3])")).find("must be a number or two numbers"),
      std::string::npos);
  EXPECT_NE(model_error(layer("RandomZoom", R"("height_factor": [-1, 0])")).find("zooms to nothing"),
            std::string::npos);
  EXPECT_NE(model_error(layer("RandomTranslation", R"("height_factor": 0.1)")).find("width_factor is missing"),
            std::string::npos);
  EXPECT_NE(model_error(layer("RandomFlip", R"("mode": "diagonal")")).find("mode \"diagonal\" is not one of"),
            std::string::npos);
  // After a layer with weights, a warp would need its gradient: refused, saying where to put it.
  const std::string late = R"({"class_name": "Sequential", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 12, 10, 3], "name": "input"}},
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 2, "kernel_size": 3, "activation": "relu"}},
    {"class_name": "RandomFlip", "config": {"name": "flip", "mode": "horizontal"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}]}})";
  EXPECT_NE(model_error(late).find("RandomFlip comes after a layer with weights; put the random image layers at the "
                                   "start of the model"),
            std::string::npos)
      << model_error(late);
}

}  // namespace
