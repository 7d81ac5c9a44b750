// Keras 3's random image layers, RandomFlip, RandomRotation, RandomZoom and RandomTranslation,
// in one folder: they share their config keys (fill_mode, interpolation, fill_value), their
// kernels (kernels/random_transform.h) and their CPU and CUDA code. In training they warp each
// image of the batch by a transform drawn from (seed, step, layer, image); otherwise, as in
// Keras, they pass their input through unchanged. They run only before the model's first layer
// with weights (where Keras' guides put them): no gradient through a random warp is needed there.
#pragma once
#include "kernels/random_transform.h"
#include "runtime/core/model_spec.h"

namespace acts {

// The layer's transform, from the LayerSpec attrs its parse() wrote.
RandomTransform random_transform_of(const LayerSpec& s);

}  // namespace acts
