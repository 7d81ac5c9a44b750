// The gradient heatmaps (Grad-CAM as the book, tf-keras-vis' Grad-CAM, Grad-CAM++, LayerCAM) and
// compute_cams(), which sends Score-CAM to score_cam.cpp. Per batch: one forward, then one
// Backend::gradient() per class (one for both classes of a sigmoid head), which gives every
// image's d score / d A at once, shared by every gradient method asked for.
#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "runtime/explain/cam.h"
#include "runtime/explain/cam_detail.h"
#include "runtime/explain/class_score.h"

namespace acts {
namespace {

using explain_detail::relu_divide_by_max;
using explain_detail::relu_min_max;

// One image's map m (P = h w) from its layer output A and gradient G, both (P, C); its channel
// weights into w (C) except for LayerCAM.
void gradient_map(CamMethod method, const float* A, const float* G, size_t P, size_t C, float* m, float* w) {
  std::vector<double> weight(C, 0.0);
  std::vector<double> acc(P, 0.0);
  switch (method) {
    case CamMethod::kGradCam:
    case CamMethod::kGradCamSum: {
      // Channel weights: the gradient's mean over positions (the book's pooled_grads, and
      // tf-keras-vis' K.mean(grads, axis=(1, 2))).
      for (size_t p = 0; p < P; ++p)
        for (size_t c = 0; c < C; ++c) weight[c] += G[p * C + c];
      for (double& w : weight) w /= double(P);
      for (size_t p = 0; p < P; ++p)
        for (size_t c = 0; c < C; ++c) acc[p] += weight[c] * A[p * C + c];
      // The book: np.mean(conv_layer_output_value, axis=-1), i.e. the sum / C. tf-keras-vis sums;
      // a positive factor, which the normalisations take out.
      if (method == CamMethod::kGradCam)
        for (double& v : acc) v /= double(C);
      break;
    }
    case CamMethod::kGradCamPlusPlus: {
      // tf-keras-vis' GradcamPlusPlus: with g = d score / dA and S_c = sum over positions of A,
      // alpha = g^2 / (2 g^2 + g^3 S_c) (the exp(score) closed form; its exp(score) factors cancel
      // here and in the normalisation, so it is left out and cannot overflow), 1 added to the
      // denominator where g = 0; the alphas are then divided by their sum over positions, and
      // w_c = sum over positions of relu(g) alpha. pytorch-grad-cam's GradCAMPlusPlus does not
      // divide the alphas by their sum (its weights differ by a per-channel factor) and adds
      // 1e-7 to the denominator instead.
      std::vector<double> sum_a(C, 0.0), sum_alpha(C, 0.0);
      for (size_t p = 0; p < P; ++p)
        for (size_t c = 0; c < C; ++c) sum_a[c] += A[p * C + c];
      for (size_t p = 0; p < P; ++p)
        for (size_t c = 0; c < C; ++c) {
          const double g = G[p * C + c], g2 = g * g, g3 = g2 * g;
          const double denom = 2 * g2 + g3 * sum_a[c] + (g2 == 0 ? 1.0 : 0.0);
          const double alpha = denom == 0 ? 0.0 : g2 / denom;  // g S_c = -2: NaN in tf-keras-vis
          sum_alpha[c] += alpha;
          weight[c] += std::max(g, 0.0) * alpha;
        }
      for (size_t c = 0; c < C; ++c) weight[c] /= sum_alpha[c] == 0 ? 1.0 : sum_alpha[c];
      for (size_t p = 0; p < P; ++p)
        for (size_t c = 0; c < C; ++c) acc[p] += weight[c] * A[p * C + c];
      break;
    }
    case CamMethod::kLayerCam:
      // Jiang et al.: each position's own weight, relu(g); tf-keras-vis' Layercam and
      // pytorch-grad-cam's LayerCAM alike.
      for (size_t p = 0; p < P; ++p)
        for (size_t c = 0; c < C; ++c) acc[p] += std::max(double(G[p * C + c]), 0.0) * A[p * C + c];
      break;
    case CamMethod::kScoreCam:
      break;  // not a gradient method
  }
  if (method != CamMethod::kLayerCam)
    for (size_t c = 0; c < C; ++c) w[c] = float(weight[c]);
  for (size_t p = 0; p < P; ++p) m[p] = float(acc[p]);
  // The book: np.maximum(heatmap, 0) / np.max(heatmap); the others as tf-keras-vis (min-max).
  if (method == CamMethod::kGradCam)
    relu_divide_by_max(m, P);
  else
    relu_min_max(m, P);
}

}  // namespace

std::vector<CamMaps> compute_cams(Backend& be, const Batch& b, const CamRequest& r,
                                  const std::vector<CamMethod>& methods) {
  const Graph& g = be.graph();
  const std::string layer = r.layer.empty() ? default_cam_layer(g) : r.layer;
  const Node& node = explain_detail::cam_layer(g, layer);
  const std::vector<int> classes = explain_detail::request_classes(g, r.classes);
  if (r.score_cam_batch < 0)
    throw BadRequest("Score-CAM's batch " + std::to_string(r.score_cam_batch) +
                     " is negative; give 0 (the "
                     "backend's) or a positive number");
  std::vector<CamMaps> out(methods.size());
  std::vector<size_t> gradient_methods;  // indices into methods
  for (size_t j = 0; j < methods.size(); ++j)
    if (methods[j] != CamMethod::kScoreCam) gradient_methods.push_back(j);
  if (!gradient_methods.empty()) {
    // One forward and one gradient per class serve every gradient method.
    be.forward(b, false);
    const size_t K = classes.size();
    for (size_t j : gradient_methods) {
      out[j] = explain_detail::cam_maps_for(node, b.n, K);
      if (methods[j] != CamMethod::kLayerCam) out[j].weights.resize(size_t(b.n) * K * size_t(out[j].channels));
    }
    const size_t P = size_t(node.out_shape[0]) * size_t(node.out_shape[1]), C = size_t(node.out_shape[2]);
    std::vector<float> unused(C);
    const std::vector<float> logits = be.logits();
    const std::vector<float> A = be.activation(layer);  // (n, h, w, C)
    std::vector<std::vector<float>> grads;
    int grads_of = -1;  // the class whose gradient `grads` holds
    for (size_t k = 0; k < K; ++k) {
      const std::vector<float> s = class_score_values(g, logits, b.n, classes[k]);
      if (grads_of >= 0 && grads_of != classes[k] && opposite_class_scores(g)) {  // -z's gradient: z's negated
        for (float& v : grads[0]) v = -v;
      } else if (grads_of != classes[k]) {
        be.gradient(class_score(g, std::vector<int>(size_t(b.n), classes[k])), {layer}, grads);  // (n, h, w, C)
      }
      grads_of = classes[k];
      for (size_t j : gradient_methods) {
        CamMaps& m = out[j];
        for (size_t i = 0; i < size_t(b.n); ++i) {
          m.scores[i * K + k] = s[i];
          float* w = m.weights.empty() ? unused.data() : &m.weights[(i * K + k) * C];
          gradient_map(methods[j], &A[i * P * C], &grads[0][i * P * C], P, C, &m.maps[(i * K + k) * P], w);
        }
      }
    }
  }
  for (size_t j = 0; j < methods.size(); ++j)
    if (methods[j] == CamMethod::kScoreCam)
      out[j] = explain_detail::score_cam(be, b, layer, classes, r.score_cam_batch);
  return out;
}

CamMaps compute_cam(Backend& be, const Batch& b, const CamRequest& r) {
  return std::move(compute_cams(be, b, r, {r.method})[0]);
}

}  // namespace acts
