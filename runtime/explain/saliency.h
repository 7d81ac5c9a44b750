// Vanilla saliency (Simonyan et al. 2014) and SmoothGrad (Smilkov et al. 2017): the gradient of
// a class score with respect to the input pixels, its absolute value's maximum over the colour
// channels, normalised to [0, 1] per image and class (tf-keras-vis' Saliency defaults). SmoothGrad
// averages the gradients of `samples` copies of the input with Gaussian noise of standard
// deviation noise x (max - min of the input) before the absolute value.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/backend.h"

namespace acts {

struct SaliencyRequest {
  std::vector<int> classes;
  int samples = 0;      // 0: vanilla saliency; else SmoothGrad with this many noisy copies
  float noise = 0.2f;   // SmoothGrad's noise level, as a fraction of the input's range
  uint64_t seed = 1;    // the noise, reproducible
};

struct SaliencyMaps {
  int n = 0, classes = 0, h = 0, w = 0;  // the model input's resolution
  std::vector<float> maps;               // (n, classes, h, w) in [0, 1]
};

SaliencyMaps compute_saliency(Backend& be, const Batch& b, const SaliencyRequest& r);

}  // namespace acts
