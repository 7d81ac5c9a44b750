// BatchNormalization's hyperparameters as its parse() keeps them in LayerSpec::attrs, read the
// same way by the CPU and CUDA halves. The semantics are in kernels/cpu/batch_normalization.h.
#pragma once
#include "runtime/core/graph.h"

namespace acts {

struct BatchNormConfig {
  double momentum = 0.99, epsilon = 1e-3;
  bool center = true, scale = true;
  // Node::params indices: gamma (if scale), beta (if center), moving_mean, moving_variance.
  int gamma = -1, beta = -1, mean = 0, var = 1;
  int channels = 0;
  size_t rows(int n, const Node& nd) const {
    return size_t(n) * (nd.in_shape.size() == 3 ? nd.in_shape[0] * nd.in_shape[1] : 1);
  }
  // Keras runs a frozen BatchNormalization (trainable: false) in inference mode even in training.
  bool frozen = false;
};

inline BatchNormConfig batch_norm_config(const Node& nd) {
  BatchNormConfig b;
  const auto& a = nd.spec.attrs;
  b.momentum = a.at("momentum");
  b.epsilon = a.at("epsilon");
  b.center = a.at("center") != 0;
  b.scale = a.at("scale") != 0;
  int k = 0;
  if (b.scale) b.gamma = k++;
  if (b.center) b.beta = k++;
  b.mean = k++;
  b.var = k++;
  b.channels = nd.in_shape.back();
  b.frozen = !is_trainable(nd.spec);
  return b;
}

}  // namespace acts
