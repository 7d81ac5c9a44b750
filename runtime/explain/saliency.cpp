// Vanilla saliency and SmoothGrad (saliency.h) through Backend::gradient() with respect to the
// model's input (""), one gradient() per class and (noisy) batch.
#include "runtime/explain/saliency.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "runtime/explain/cam_detail.h"
#include "runtime/explain/class_score.h"

namespace acts {
namespace {

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double unit(uint64_t seed, uint64_t counter) {  // in [0, 1), 53 bits
  return double(splitmix64(seed * 0xD1B54A32D192ED03ull + counter) >> 11) * 0x1p-53;
}

}  // namespace

double smoothgrad_normal(uint64_t seed, uint64_t index) {
  const double u1 = unit(seed, 2 * index), u2 = unit(seed, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * M_PI * u2);
}

SaliencyMaps compute_saliency(Backend& be, const Batch& b, const SaliencyRequest& r) {
  const Graph& g = be.graph();
  const std::vector<int> classes = explain_detail::request_classes(g, r.classes);
  if (r.samples < 0)
    throw BadRequest("SmoothGrad's samples " + std::to_string(r.samples) +
                     " is negative; give 0 (vanilla "
                     "saliency) or a positive count");
  if (!(r.noise >= 0.f) || !std::isfinite(r.noise))
    throw BadRequest("SmoothGrad's noise " + std::to_string(r.noise) + " is not a fraction >= 0; give e.g. 0.2");
  SaliencyMaps out;
  out.n = b.n;
  out.classes = int(classes.size());
  out.h = g.spec().height;
  out.w = g.spec().width;
  const size_t HW = size_t(out.h) * size_t(out.w), Cin = size_t(g.spec().channels), image = HW * Cin;
  const size_t n = size_t(b.n), K = classes.size();
  // sum over samples of |d score / d input|, (n, K, H, W, Cin)
  std::vector<double> total(n * K * image, 0.0);
  std::vector<std::vector<float>> grads;
  auto accumulate = [&] {
    for (size_t k = 0; k < K; ++k) {
      // A sigmoid head's classes have opposite gradients, so the same |gradient|: one serves all.
      if (k == 0 || !opposite_class_scores(g)) be.gradient(class_score(g, std::vector<int>(n, classes[k])), {""}, grads);
      for (size_t i = 0; i < n; ++i) {
        double* t = &total[(i * K + k) * image];
        const float* d = &grads[0][i * image];
        for (size_t e = 0; e < image; ++e) t[e] += std::fabs(double(d[e]));
      }
    }
  };
  const int samples = std::max(r.samples, 1);
  if (r.samples == 0) {
    be.forward(b, false);
    accumulate();
  } else {
    const std::vector<float> x = explain_detail::batch_inputs(g, b);
    std::vector<float> sigma(n), noisy(x.size());
    for (size_t i = 0; i < n; ++i) {  // per image: noise x (max - min) of its own input, as tf-keras-vis
      const auto [lo, hi] =
          std::minmax_element(x.begin() + ptrdiff_t(i * image), x.begin() + ptrdiff_t((i + 1) * image));
      sigma[i] = r.noise * (*hi - *lo);
    }
    for (int s = 0; s < samples; ++s) {
      for (size_t i = 0; i < n; ++i)
        for (size_t e = 0; e < image; ++e) {
          const uint64_t index = (uint64_t(s) * n + i) * image + e;
          noisy[i * image + e] = x[i * image + e] + float(sigma[i] * smoothgrad_normal(r.seed, index));
        }
      Batch nb;
      nb.n = b.n;
      nb.inputs = noisy.data();
      be.forward(nb, false);
      accumulate();
    }
  }
  // The mean's maximum over the colour channels (keepdims=False), min-max normalised.
  out.maps.resize(n * K * HW);
  for (size_t ik = 0; ik < n * K; ++ik) {
    float* m = &out.maps[ik * HW];
    const double* t = &total[ik * image];
    for (size_t p = 0; p < HW; ++p) {
      double v = 0;
      for (size_t ch = 0; ch < Cin; ++ch) v = std::max(v, t[p * Cin + ch]);
      m[p] = float(v / samples);
    }
    explain_detail::min_max(m, HW);
  }
  return out;
}

}  // namespace acts
