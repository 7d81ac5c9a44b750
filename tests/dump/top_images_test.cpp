// dump_acts --top's pass (top_images.h) against a brute force: every image's whole activation
// copied back and every channel's images sorted by their maximum, with the same tie rule
// (earlier image first). The running top N must be that sort's first N, for several batch sizes.
#include "runtime/dump/top_images.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "runtime/core/backend.h"
#include "tests/test_models.h"

using namespace acts;

namespace {

struct Brute {
  float value;
  size_t image;
  int position;
};

// Every (image, channel)'s maximum and its first position, from whole activations copied back
// after full forward passes of the same batches (the fast path's sgemm rounds a Dense layer's
// outputs differently for other batch sizes).
std::vector<std::vector<Brute>> brute_force(Backend& be, const Inputs& in, float scale, const Node& nd) {
  const int C = nd.out_shape.back();
  const size_t positions = nd.out_size / size_t(C), batch = size_t(be.options().max_batch);
  std::vector<std::vector<Brute>> per_channel{size_t(C)};
  for (size_t first = 0; first < in.size(); first += batch) {
    Batch b;
    b.n = int(std::min(batch, in.size() - first));
    b.images = in.image(first);
    b.scale = scale;
    be.forward(b, false);
    const std::vector<float> all = be.activation(nd.spec.name);
    for (int j = 0; j < b.n; ++j) {
      const float* a = all.data() + size_t(j) * nd.out_size;
      for (int c = 0; c < C; ++c) {
        Brute best{a[size_t(c)], first + size_t(j), 0};
        for (size_t p = 1; p < positions; ++p)
          if (a[p * size_t(C) + size_t(c)] > best.value) best = {a[p * size_t(C) + size_t(c)], first + size_t(j), int(p)};
        per_channel[size_t(c)].push_back(best);
      }
    }
  }
  for (auto& v : per_channel)
    std::stable_sort(v.begin(), v.end(), [](const Brute& a, const Brute& b) { return a.value > b.value; });
  return per_channel;
}

Inputs random_images(const Graph& g, size_t n) {
  Inputs in;
  in.height = g.spec().height;
  in.width = g.spec().width;
  std::mt19937 rng(5);
  in.pixels.resize(n * g.input_size());
  for (uint8_t& p : in.pixels) p = uint8_t(rng() & 0xFF);
  for (size_t i = 0; i < n; ++i) in.sources.push_back("img" + std::to_string(i)), in.stems.push_back(in.sources.back());
  return in;
}

}  // namespace

TEST(TopImages, PassEqualsBruteForceForAnyBatchSize) {
  ModelSpec m = tutorial_model(48);  // 46, 23, 21, 10, 8, 4, 2, 1: every layer kind of the tutorial
  const Graph g(m);
  const std::vector<float> params = init_params(g, 3);
  const Inputs in = random_images(g, 13);
  const std::vector<const Node*> layers = {&g.node("conv2d_2"), &g.node("max_pooling2d_3"), &g.node("dense_1")};
  BackendOptions o;
  for (int batch : {1, 4, 13}) {
    o.max_batch = batch;
    auto be = make_cpu_backend(g, o);
    be->set_params(params);
    std::vector<size_t> seen;
    const std::vector<TopN> tops =
        find_top_images(*be, in, 1.f / 255.f, layers, 5, [&](size_t done) { seen.push_back(done); });
    EXPECT_EQ(seen.back(), in.size());
    ASSERT_EQ(tops.size(), layers.size());
    for (size_t l = 0; l < layers.size(); ++l) {
      const Node& nd = *layers[l];
      const auto brute = brute_force(*be, in, 1.f / 255.f, nd);
      ASSERT_EQ(tops[l].channels(), nd.out_shape.back());
      const int W = nd.out_shape.size() == 3 ? nd.out_shape[1] : 1;
      for (int c = 0; c < tops[l].channels(); ++c) {
        const std::vector<TopHit>& hits = tops[l].channel(c);
        ASSERT_EQ(hits.size(), 5u);
        for (size_t r = 0; r < hits.size(); ++r) {
          const Brute& want = brute[size_t(c)][r];
          const std::string what = nd.spec.name + " channel " + std::to_string(c) + " #" + std::to_string(r + 1) +
                                   " (batch " + std::to_string(batch) + ")";
          EXPECT_EQ(hits[r].image, want.image) << what;
          EXPECT_EQ(hits[r].value, want.value) << what;
          EXPECT_EQ(hits[r].y * W + hits[r].x, want.position) << what;
        }
      }
    }
  }
}

// Ties rank the earlier image first whatever the batches, and N beyond the images keeps them all.
TEST(TopImages, TiesAndShortData) {
  TopN t(2, 4);
  const float peak_a[] = {1.f, 3.f, 2.f, 3.f};  // images 0, 1 for channels 0, 1
  const int where_a[] = {0, 5, 1, 6};
  t.add(peak_a, where_a, 2, 0, 4);
  const float peak_b[] = {2.f, 3.f};  // image 2
  const int where_b[] = {7, 2};
  t.add(peak_b, where_b, 1, 2, 4);
  ASSERT_EQ(t.channel(0).size(), 3u);
  EXPECT_EQ(t.channel(0)[0].image, 1u);  // 2.0 at image 1, then 2.0 at image 2, then 1.0
  EXPECT_EQ(t.channel(0)[1].image, 2u);
  EXPECT_EQ(t.channel(0)[2].image, 0u);
  EXPECT_EQ(t.channel(0)[1].y, 1);  // position 7 in a row of 4
  EXPECT_EQ(t.channel(0)[1].x, 3);
  EXPECT_EQ(t.channel(1)[0].image, 0u);  // three 3.0s: images 0, 1, 2
  EXPECT_EQ(t.channel(1)[1].image, 1u);
  EXPECT_EQ(t.channel(1)[2].image, 2u);
}
