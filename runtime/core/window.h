// Keras' (TensorFlow's) sliding-window arithmetic along one axis, shared by Conv2D and the pooling
// layers so that they agree on output sizes and padding to the row.
#pragma once
#include <algorithm>

#include "runtime/core/model_spec.h"

namespace acts {

// One axis of a window of size k moved by `stride` over `in` positions.
struct Window1d {
  int out = 0;         // output positions; <= 0 when a 'valid' window does not fit
  int pad_before = 0;  // zeros (or -inf for max pooling) before the first input position
  int pad_after = 0;   // ... and after the last one
};

// 'valid': floor((in - k) / stride) + 1, no padding. 'same': ceil(in / stride) outputs and the
// padding that makes them, total = max((out - 1) * stride + k - in, 0), split as TensorFlow does:
// floor(total / 2) before, the rest after. An odd total is therefore one more at the bottom/right,
// which symmetric padding (cuDNN's, oneDNN's l/r pairs aside) cannot express alone.
inline Window1d window_1d(Padding p, int in, int k, int stride) {
  Window1d w;
  if (p == Padding::Valid) {
    w.out = in >= k ? (in - k) / stride + 1 : 0;
    return w;
  }
  w.out = (in + stride - 1) / stride;
  const int total = std::max((w.out - 1) * stride + k - in, 0);
  w.pad_before = total / 2;
  w.pad_after = total - w.pad_before;
  return w;
}

// What one output position of a layer sees of the layer's input along each spatial axis (the
// receptive fields of dump_acts --top: runtime/core/receptive_field.h). A window of `size`
// positions starting at out * stride - pad_before (the node's pad_top/pad_left), or, `whole`, the
// entire input (Flatten, Dense, the global poolings: every output depends on every position).
// The default, size 1 and stride 1, is a pointwise layer (activations, BatchNormalization, ...).
struct Reach {
  bool whole = false;
  int size = 1, stride = 1;
};

}  // namespace acts
