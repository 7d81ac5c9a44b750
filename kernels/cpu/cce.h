// CPU reference: categorical cross-entropy of a softmax head from its logits z (n, classes),
// with one class index per image (categorical and sparse categorical cross-entropy are the same
// function of it). As Keras computes it from the softmax output p: p_t of the true class clipped
// to [1e-7, 1 - 1e-7], loss = -log p_t; outside the clip the gradient is 0 (only the clipped p_t
// enters the loss, and Keras' clip passes no gradient), inside it is (p - onehot) / N. log p_t = z_t - max - log(sum exp(z - max)): stable for any logits.
// Accuracy as Keras' categorical/sparse_categorical_accuracy: argmax(z) == label, the first
// maximum winning a tie (np.argmax's rule).
#pragma once
#include <math.h>

#include <cstddef>

// The per-image function runs on the GPU too (kernels/cuda/cce.cu): one definition for both.
#if defined(__CUDACC__) || defined(__device__)
#define ACTS_HOST_DEVICE __host__ __device__
#else
#define ACTS_HOST_DEVICE
#endif

namespace acts::cpu {

constexpr double kCceClipLow = 1e-7, kCceClipHigh = 1 - 1e-7;

// One image's loss for the class index `label` of its logits z (classes); writes dL/dz of the
// batch MEAN loss (n images) into dz when not null and whether argmax(z) is the label. A label
// that is not an index in [0, classes) gives a NaN loss and a zero gradient (the backends refuse
// such batches before; a NaN shows rather than a wrong class silently trained).
template <typename T>
ACTS_HOST_DEVICE double softmax_ce_image(const T* z, T label, int classes, int n, T* dz, bool* argmax_is_label) {
  const double l = double(label);
  const int t = int(l);
  if (!(l >= 0 && l < classes) || double(t) != l) {
    if (dz)
      for (int j = 0; j < classes; ++j) dz[j] = T(0);
    *argmax_is_label = false;
    return double(NAN);
  }
  double m = double(z[0]);
  int best = 0;
  for (int j = 1; j < classes; ++j)
    if (double(z[j]) > m) m = double(z[j]), best = j;
  double sum = 0;
  for (int j = 0; j < classes; ++j) sum += ::exp(double(z[j]) - m);
  const double log_pt = double(z[t]) - m - ::log(sum);
  const double pt = ::exp(log_pt);
  // Comparisons, not fmin/fmax: a NaN logit must give a NaN loss, so a diverged run shows.
  const bool clipped = pt < kCceClipLow || pt > kCceClipHigh;
  const double loss = pt < kCceClipLow ? -::log(kCceClipLow) : (pt > kCceClipHigh ? -::log(kCceClipHigh) : -log_pt);
  if (dz)
    for (int j = 0; j < classes; ++j)
      dz[j] = clipped ? T(0) : T((::exp(double(z[j]) - m) / sum - (j == t ? 1.0 : 0.0)) / n);
  *argmax_is_label = best == t;
  return loss;
}

// z (n, classes), labels (n) class indices; returns the SUM of the per-image losses, adds the
// number of correct predictions to *correct when not null, writes dL/dz of the batch mean into
// dz (n, classes) when not null.
template <typename T>
double softmax_ce_from_logits(const T* z, const T* labels, int n, int classes, T* dz, double* correct) {
  double loss = 0;
  for (int i = 0; i < n; ++i) {
    bool hit = false;
    const size_t at = size_t(i) * size_t(classes);
    loss += softmax_ce_image(z + at, labels[i], classes, n, dz ? dz + at : nullptr, &hit);
    if (correct) *correct += hit ? 1 : 0;
  }
  return loss;
}

}  // namespace acts::cpu
