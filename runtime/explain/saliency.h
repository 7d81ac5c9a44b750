// Vanilla saliency (Simonyan et al. 2014) and SmoothGrad (Smilkov et al. 2017): the gradient of
// a class score with respect to the input pixels, its absolute value's maximum over the colour
// channels, normalised to [0, 1] per image and class (tf-keras-vis' Saliency defaults). SmoothGrad
// averages the absolute gradients of `samples` copies of the input with Gaussian noise of
// standard deviation noise x (max - min of that image's input), as tf-keras-vis does (its
// gradient_modifier, abs, runs on each sample's gradient). For a sigmoid head the two classes'
// maps are the same (their scores are z and -z). Runs in one forward and one gradient() per
// class per noisy copy of the batch.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/backend.h"

namespace acts {

struct SaliencyRequest {
  std::vector<int> classes;  // empty: every class
  int samples = 0;      // 0: vanilla saliency; else SmoothGrad with this many noisy copies
  float noise = 0.2f;   // SmoothGrad's noise level, as a fraction of the input's range
  uint64_t seed = 1;    // the noise, reproducible
};

struct SaliencyMaps {
  int n = 0, classes = 0, h = 0, w = 0;  // the model input's resolution
  std::vector<float> maps;               // (n, classes, h, w) in [0, 1]
};

// Throws BadRequest for a class out of range, negative samples or noise.
SaliencyMaps compute_saliency(Backend& be, const Batch& b, const SaliencyRequest& r);

// SmoothGrad's noise, standard normal: element e of image i of sample s of a batch of n images of
// E elements is smoothgrad_normal(seed, (s n + i) E + e) (Box-Muller on splitmix64 counters), so
// a reference implementation can draw the same noise.
double smoothgrad_normal(uint64_t seed, uint64_t index);

}  // namespace acts
