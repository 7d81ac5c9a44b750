// Where RMSprop puts its epsilon. Keras changed it between versions, and the choice decides how
// fast the tutorial's model fits (docs/results.md): with eps = 1e-7 under the root, a first step on
// a gradient of 1e-4 is ten times smaller.
//   kKeras2: w -= lr g / (sqrt(a) + eps)   Keras 2 (the book's) and PyTorch; we use PyTorch's eps 1e-8
//   kKeras3: w -= lr g / sqrt(a + eps)     Keras 3 and tf.keras (TF's ApplyRMSProp); eps 1e-7
// Both share the accumulator a = rho a + (1 - rho) g^2.
#pragma once

namespace acts {

enum class RmspropRule { kKeras2, kKeras3 };

}  // namespace acts
