// Adam as Keras 3 runs it (keras 3.15, keras/src/optimizers/adam.py, Adam.update_step; read there):
// defaults learning_rate 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7, amsgrad False, and per step,
// in float32 with t = iterations + 1 (iterations: the steps taken before this one):
//   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)   (beta^t: ops.power(float32(beta), float32(t)))
//   m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)   (1 - beta: Python doubles, then float32)
//   w -= m * alpha / (sqrt(v) + epsilon)
// tf.keras 2.x and Keras 2 name the slots m and v and compute the same (Keras 2 folds epsilon the
// same way: "epsilon hat"). A parameter whose gradient is always 0 keeps m = v = 0 and is never moved
// (0 * alpha / (0 + eps) = 0): the zero padding of the CUDA layout and non-trainable state stay put.
// The step's scalar alpha is shared by the CPU reference and the CUDA kernel (computed on the device
// from its own iteration counter, so a replayed CUDA graph advances it: kernels/cuda/adam.cuh).
#pragma once
#include <math.h>

#include <cstdint>

#ifdef __CUDACC__
#define ACTS_HOST_DEVICE __host__ __device__
#else
#define ACTS_HOST_DEVICE
#endif

namespace acts {

// Keras 3's defaults, and the factors 1 - beta as Keras forms them (in double, then float32).
struct AdamHyper {
  double beta1 = 0.9, beta2 = 0.999;
  float one_minus_beta1() const { return float(1.0 - beta1); }
  float one_minus_beta2() const { return float(1.0 - beta2); }
};

// alpha of step t (1-based) in Keras' float32 order of operations. beta^t is float32(beta) to the
// power t rounded once to float (pow in double first: a correctly rounded powf in all but
// vanishingly rare cases, the same on the host and the device).
ACTS_HOST_DEVICE inline float adam_alpha(float lr, float beta1, float beta2, uint64_t t) {
  const float b1t = float(pow(double(beta1), double(t)));
  const float b2t = float(pow(double(beta2), double(t)));
  return lr * sqrtf(1.f - b2t) / (1.f - b1t);
}

}  // namespace acts
