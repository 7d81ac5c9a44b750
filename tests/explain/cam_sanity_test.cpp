// The maps mean something: the small model, trained here on a task whose evidence has a known
// place (class 1: a bright 5x5 square somewhere on dark noise; class 0: the noise alone), puts
// its Grad-CAM, LayerCAM, Score-CAM and saliency maxima on the square; and the sanity check of
// Adebayo et al. 2018: with the trained weights replaced by fresh random ones (init_params), the
// maps change (Spearman rank correlation with the trained model's maps well below 1), which a
// method that merely shows the input (an edge detector) would fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/explain/cam.h"
#include "runtime/explain/saliency.h"
#include "tests/explain/explain_test_util.h"

using namespace acts;

namespace {

constexpr int kSide = 18, kSquare = 5;

struct Squares {
  std::vector<uint8_t> px;  // (n, 18, 18, 3)
  std::vector<float> labels;
  std::vector<int> y, x;  // the square's top-left corner (class 1), -1 for class 0
};

// Half the images with a square, at a uniformly drawn place; the rest noise only.
Squares make_squares(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  Squares s;
  s.px.resize(size_t(n) * kSide * kSide * 3);
  for (uint8_t& p : s.px) p = uint8_t(rng() % 80);
  for (int i = 0; i < n; ++i) {
    const bool square = i % 2 == 1;
    s.labels.push_back(square ? 1.f : 0.f);
    const int y = square ? int(rng() % (kSide - kSquare + 1)) : -1,
              x = square ? int(rng() % (kSide - kSquare + 1)) : -1;
    s.y.push_back(y);
    s.x.push_back(x);
    for (int r = 0; square && r < kSquare; ++r)
      for (int c = 0; c < kSquare; ++c)
        for (int ch = 0; ch < 3; ++ch)
          s.px[((size_t(i) * kSide + size_t(y + r)) * kSide + size_t(x + c)) * 3 + ch] = 255;
  }
  return s;
}

Batch batch_of(const Squares& s, int first, int n) {
  Batch b;
  b.n = n;
  b.images = &s.px[size_t(first) * kSide * kSide * 3];
  b.labels = &s.labels[size_t(first)];
  return b;
}

class TrainedOnSquares : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static Graph g(test::small_cam_model());
    graph = &g;
    BackendOptions o;
    o.max_batch = 16;
    o.lr = 3e-3f;
    o.cpu_reference = true;  // plain loops: the same trajectory on every machine and thread count
    be = new CpuBackend(g, o);
    be->set_params(init_params(g, 1));
    const Squares train = make_squares(16 * 50, 2);
    for (int epoch = 0; epoch < 12; ++epoch)
      for (int first = 0; first < 16 * 50; first += 16) be->train_step(batch_of(train, first, 16));
    trained = be->params();
  }
  static void TearDownTestSuite() { delete be; }
  static const Graph* graph;
  static CpuBackend* be;
  static std::vector<float> trained;
};
const Graph* TrainedOnSquares::graph = nullptr;
CpuBackend* TrainedOnSquares::be = nullptr;
std::vector<float> TrainedOnSquares::trained;

// Class 1's maps of the square images of `s` (n images, every other one has a square).
std::vector<float> maps_of(Backend& be, const Squares& s, CamMethod m, int* h, bool saliency) {
  std::vector<float> out;
  for (int first = 0; first < int(s.labels.size()); first += 16) {
    Batch b = batch_of(s, first, 16);
    b.labels = nullptr;
    if (saliency) {
      SaliencyRequest r;
      r.classes = {1};
      const SaliencyMaps sm = compute_saliency(be, b, r);
      *h = sm.h;
      out.insert(out.end(), sm.maps.begin(), sm.maps.end());
    } else {
      CamRequest r;
      r.method = m;
      r.classes = {1};
      const CamMaps c = compute_cam(be, b, r);
      *h = c.h;
      out.insert(out.end(), c.maps.begin(), c.maps.end());
    }
  }
  return out;
}

// most_correlated: the largest mean rank correlation allowed between the trained model's maps and
// those of random weights. Measured: Grad-CAM 0.01, Grad-CAM++ 0.36, LayerCAM 0.25, Score-CAM 0
// (the random model's class-1 map is empty: every masked input scores below 0), saliency 0.52.
// Saliency keeps more: the random model's input gradient is still largest at the bright square's
// edges (Adebayo et al. saw the same of gradient maps taken in absolute value).
struct Method {
  const char* name;
  CamMethod method;
  bool saliency;
  double most_correlated;
};
const Method kMethods[] = {{"gradcam", CamMethod::kGradCam, false, 0.5},
                           {"gradcam++", CamMethod::kGradCamPlusPlus, false, 0.5},
                           {"layercam", CamMethod::kLayerCam, false, 0.5},
                           {"scorecam", CamMethod::kScoreCam, false, 0.5},
                           {"saliency", CamMethod::kGradCam, true, 0.65}};

}  // namespace

TEST_F(TrainedOnSquares, TheModelLearnedTheTask) {
  const Squares test_set = make_squares(64, 3);
  int correct = 0;
  for (int first = 0; first < 64; first += 16) {
    be->forward(batch_of(test_set, first, 16), false);
    const std::vector<float> p = be->predictions();
    for (int i = 0; i < 16; ++i) correct += (p[size_t(i)] > 0.5f) == (test_set.labels[size_t(first + i)] > 0.5f);
  }
  EXPECT_GE(correct, 60) << "of 64: the maps below would explain a model that did not learn";
}

// The map's maximum lies where the square is: for a conv2d_2 cell (6x6 grid), the input rows
// 2k .. 2k + 7 it sees (two 3x3 convolutions and a 2x2 pooling); for saliency, the pixel itself
// within a pixel of the square.
TEST_F(TrainedOnSquares, MapsPeakOnTheSquare) {
  const Squares s = make_squares(32, 4);
  for (const Method& m : kMethods) {
    int h = 0, hits = 0, squares = 0;
    const std::vector<float> maps = maps_of(*be, s, m.method, &h, m.saliency);
    const size_t P = size_t(h) * size_t(h);
    for (size_t i = 0; i < s.labels.size(); ++i) {
      if (s.y[i] < 0) continue;
      ++squares;
      const float* map = &maps[i * P];
      const size_t top = size_t(std::max_element(map, map + P) - map);
      const int r = int(top) / h, c = int(top) % h;
      const int lo = m.saliency ? r : 2 * r, hi = m.saliency ? r : 2 * r + 7;
      const int clo = m.saliency ? c : 2 * c, chi = m.saliency ? c : 2 * c + 7;
      const int slack = m.saliency ? 1 : 0;
      hits += lo <= s.y[i] + kSquare - 1 + slack && hi >= s.y[i] - slack && clo <= s.x[i] + kSquare - 1 + slack &&
              chi >= s.x[i] - slack;
    }
    std::cout << m.name << ": maxima on the square in " << hits << " of " << squares << "\n";
    EXPECT_GE(hits, squares * 9 / 10) << m.name;
  }
}

TEST_F(TrainedOnSquares, MapsChangeWhenTheWeightsAreRandomised) {
  const Squares s = make_squares(32, 5);
  std::vector<std::vector<float>> before;
  int h = 0;
  for (const Method& m : kMethods) before.push_back(maps_of(*be, s, m.method, &h, m.saliency));
  be->set_params(init_params(*graph, 99));  // the model's own initialiser, as Adebayo et al.
  for (size_t k = 0; k < std::size(kMethods); ++k) {
    const std::vector<float> after = maps_of(*be, s, kMethods[k].method, &h, kMethods[k].saliency);
    const size_t P = size_t(h) * size_t(h);
    double sum = 0;
    int count = 0;
    for (size_t i = 0; i < s.labels.size(); ++i)
      if (s.y[i] >= 0) {
        sum += test::rank_correlation(&before[k][i * P], &after[i * P], P);
        ++count;
      }
    std::cout << kMethods[k].name << ": mean rank correlation, trained vs random weights " << sum / count << "\n";
    EXPECT_LT(sum / count, kMethods[k].most_correlated) << kMethods[k].name;
  }
  be->set_params(trained);
}
