// receptive_field() against the model itself: for each output position of each layer, inputs
// changed everywhere outside the field's box leave that position's outputs exactly as they were
// (the box contains everything the unit sees), and a change of a single pixel at any corner of
// the box moves them (the box is no larger than what it sees). Run on the CPU reference loops,
// whose every output reads only its own window, with linear layers and average pooling where the
// corners are probed (a max or a relu could hide a change), max pooling where only containment is.
#include "runtime/core/receptive_field.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/core/backend.h"
#include "tests/test_models.h"

using namespace acts;
using acts::test::layer_spec;

namespace {

// Conv 'same' 3x3, a 2x2 pooling of an odd size ('same': padded after only), a 'same' conv of
// stride 2 (TensorFlow's odd split), a 'valid' conv 5x5, then global pooling and a dense head.
ModelSpec field_model(LayerType pool) {
  ModelSpec m;
  m.height = 23;
  m.width = 19;
  m.layers = {layer_spec(LayerType::Conv2D, 4), layer_spec(pool), layer_spec(LayerType::Conv2D, 3),
              layer_spec(LayerType::Conv2D, 2), layer_spec(LayerType::GlobalAveragePooling2D),
              layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  m.layers[0].padding = Padding::Same;
  m.layers[1].padding = Padding::Same;
  m.layers[2].padding = Padding::Same;
  m.layers[2].stride = 2;
  m.layers[3].kernel = 5;
  return m;
}

class Probe {
 public:
  explicit Probe(const Graph& g) : g_(g) {
    BackendOptions o;
    o.max_batch = 1;
    o.cpu_reference = true;
    be_ = make_cpu_backend(g, o);
    be_->set_params(init_params(g, 7));
  }
  std::vector<float> out(const std::vector<float>& x, const std::string& layer) {
    Batch b;
    b.n = 1;
    b.inputs = x.data();
    be_->forward(b, false);
    return be_->activation(layer);
  }

 private:
  const Graph& g_;
  std::unique_ptr<Backend> be_;
};

std::vector<float> random_input(const Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> x(g.input_size());
  for (float& v : x) v = u(rng);
  return x;
}

// The outputs of (y, x), every channel.
std::vector<float> at(const std::vector<float>& out, const Node& nd, int y, int x) {
  const int W = nd.out_shape[1], C = nd.out_shape[2];
  const auto first = out.begin() + (long(y) * W + x) * C;
  return {first, first + C};
}

void check_fields(LayerType pool, bool corners) {
  const Graph g(field_model(pool));
  Probe probe(g);
  const int H = g.spec().height, W = g.spec().width, C = g.spec().channels;
  const std::vector<float> x = random_input(g, 1);
  for (size_t l = 0; l < 4; ++l) {
    const Node& nd = g.nodes()[l];
    const ReceptiveField f = receptive_field(g, l);
    ASSERT_FALSE(f.whole) << nd.spec.name;
    const std::vector<float> base = probe.out(x, nd.spec.name);
    for (int y = 0; y < nd.out_shape[0]; ++y)
      for (int xx = 0; xx < nd.out_shape[1]; ++xx) {
        const PixelBox b = field_box(f, y, xx, H, W);
        const std::string where = nd.spec.name + " (" + std::to_string(y) + ", " + std::to_string(xx) + ")";
        ASSERT_LT(b.top, b.bottom) << where;
        ASSERT_LT(b.left, b.right) << where;
        // Everything outside the box changed: the position's outputs stay bit for bit.
        std::vector<float> outside = random_input(g, 2);
        for (int r = b.top; r < b.bottom; ++r)
          for (int c = b.left; c < b.right; ++c)
            for (int k = 0; k < C; ++k) outside[(size_t(r) * W + c) * C + k] = x[(size_t(r) * W + c) * C + k];
        EXPECT_EQ(at(probe.out(outside, nd.spec.name), nd, y, xx), at(base, nd, y, xx)) << where << ": sees outside";
        if (!corners) continue;
        for (auto [r, c] : {std::pair{b.top, b.left}, {b.top, b.right - 1}, {b.bottom - 1, b.left},
                            {b.bottom - 1, b.right - 1}}) {
          std::vector<float> one = x;
          one[(size_t(r) * W + c) * C] += 1.f;
          EXPECT_NE(at(probe.out(one, nd.spec.name), nd, y, xx), at(base, nd, y, xx))
              << where << ": blind to its corner pixel (" << r << ", " << c << ")";
        }
      }
  }
  for (size_t l = 4; l < g.nodes().size(); ++l) EXPECT_TRUE(receptive_field(g, l).whole) << g.nodes()[l].spec.name;
}

}  // namespace

TEST(ReceptiveField, BoxIsExactlyWhatAUnitSeesWithAveragePooling) { check_fields(LayerType::AveragePooling2D, true); }

TEST(ReceptiveField, BoxContainsWhatAUnitSeesWithMaxPooling) { check_fields(LayerType::MaxPooling2D, false); }

// The tutorial's conv layers, worked by hand: 3, then +1 (pool), +2*2, +1*2, +2*4, ...
TEST(ReceptiveField, TutorialModel) {
  const Graph g(tutorial_model());
  const int want_size[] = {3, 4, 8, 10, 18, 22, 38, 46}, want_jump[] = {1, 2, 2, 4, 4, 8, 8, 16};
  for (size_t l = 0; l < 8; ++l) {
    const ReceptiveField f = receptive_field(g, l);
    EXPECT_EQ(f.size, want_size[l]) << g.nodes()[l].spec.name;
    EXPECT_EQ(f.jump, want_jump[l]) << g.nodes()[l].spec.name;
    EXPECT_EQ(f.start_y, 0) << g.nodes()[l].spec.name;  // 'valid' everywhere: no padding
  }
  EXPECT_TRUE(receptive_field(g, 8).whole);  // flatten_1
  const PixelBox b = field_box(receptive_field(g, 6), 14, 14, 150, 150);  // conv2d_4's last unit (15 x 15)
  EXPECT_EQ(b.top, 112);
  EXPECT_EQ(b.bottom, 150);
}
