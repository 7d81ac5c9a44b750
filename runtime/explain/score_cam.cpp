// Score-CAM (Wang et al. 2020) as tf-keras-vis' Scorecam computes it with all channels (max_N
// unset): every channel of the layer, upsampled to the input (aligned bilinear) and min-max
// normalised (+1e-7 in the denominator, as there: a dead channel masks everything), multiplies
// the input; the class score of that masked input is the channel's weight; map = ReLU(sum over
// channels of weight x A), min-max normalised. The score is the logit (Backend::logits() through
// class_score_values), never a softmax: tf-keras-vis takes a softmax over the outputs first,
// which over a single sigmoid output is always 1 and makes every weight equal. pytorch-grad-cam's
// ScoreCAM differs too: it takes a softmax over the channels' scores as the weights. For a
// softmax head the score is the class's logit z_k as well (not its probability), so a channel's
// weight does not depend on what the other classes score, and one rule serves both heads.
// The masked inputs run through forward() in batches of up to the backend's max_batch.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "runtime/explain/cam_detail.h"
#include "runtime/explain/class_score.h"

namespace acts::explain_detail {

CamMaps score_cam(Backend& be, const Batch& b, const std::string& layer, const std::vector<int>& classes,
                  int per_forward) {
  const Graph& g = be.graph();
  const Node& node = g.node(layer);
  const std::vector<float> x = batch_inputs(g, b);  // (n, H, W, Cin)
  be.forward(b, false);
  const std::vector<float> A = be.activation(layer);  // (n, h, w, C); forward() below overwrites it
  const std::vector<float> logits = be.logits();

  CamMaps out = cam_maps_for(node, b.n, classes.size());
  const size_t P = size_t(out.h) * size_t(out.w), C = size_t(out.channels), K = classes.size();
  const int H = g.spec().height, W = g.spec().width;
  const size_t HW = size_t(H) * size_t(W), Cin = size_t(g.spec().channels), image = HW * Cin;
  for (size_t k = 0; k < K; ++k) {
    const std::vector<float> s = class_score_values(g, logits, b.n, classes[k]);
    for (size_t i = 0; i < size_t(b.n); ++i) out.scores[i * K + k] = s[i];
  }

  // Weights (n, K, C), filled a batch of (image, channel) pairs at a time.
  const int cap = be.options().max_batch;
  const size_t batch = size_t(per_forward > 0 ? std::min(per_forward, cap) : cap);
  std::vector<double> weight(size_t(b.n) * K * C);
  std::vector<float> masked(batch * image), mask(HW);
  std::vector<size_t> pair;  // image * C + channel of each masked input in the batch
  auto run = [&] {
    Batch mb;
    mb.n = int(pair.size());
    mb.inputs = masked.data();
    be.forward(mb, false);
    const std::vector<float> z = be.logits();
    for (size_t k = 0; k < K; ++k) {
      const std::vector<float> s = class_score_values(g, z, mb.n, classes[k]);
      for (size_t j = 0; j < pair.size(); ++j) {
        const size_t i = pair[j] / C, c = pair[j] % C;
        weight[(i * K + k) * C + c] = s[j];
      }
    }
    pair.clear();
  };
  for (size_t i = 0; i < size_t(b.n); ++i)
    for (size_t c = 0; c < C; ++c) {
      upsample_aligned(&A[i * P * C + c], out.h, out.w, C, mask.data(), H, W);
      const auto [lo, hi] = std::minmax_element(mask.begin(), mask.end());
      const float low = *lo, range = (*hi - *lo) + 1e-7f;  // tf-keras-vis: K.epsilon()
      float* dst = &masked[pair.size() * image];
      const float* src = &x[i * image];
      for (size_t p = 0; p < HW; ++p) {
        const float m = (mask[p] - low) / range;
        for (size_t ch = 0; ch < Cin; ++ch) dst[p * Cin + ch] = src[p * Cin + ch] * m;
      }
      pair.push_back(i * C + c);
      if (pair.size() == batch) run();
    }
  if (!pair.empty()) run();

  out.weights.assign(weight.begin(), weight.end());
  std::vector<double> acc(P);
  for (size_t i = 0; i < size_t(b.n); ++i)
    for (size_t k = 0; k < K; ++k) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const double* w = &weight[(i * K + k) * C];
      for (size_t p = 0; p < P; ++p)
        for (size_t c = 0; c < C; ++c) acc[p] += w[c] * A[(i * P + p) * C + c];
      float* m = &out.maps[(i * K + k) * P];
      for (size_t p = 0; p < P; ++p) m[p] = float(acc[p]);
      relu_min_max(m, P);
    }
  return out;
}

}  // namespace acts::explain_detail
