// What MaxPooling2D and AveragePooling2D share: their Keras config (square pool_size, strides
// defaulting to pool_size, padding valid/same), its Keras 2 style JSON, their output shape, and
// the window geometry their kernels take (kernels/pool2d_shape.h). And what GlobalAveragePooling2D
// and GlobalMaxPooling2D share: keepdims.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include "kernels/pool2d_shape.h"
#include "runtime/core/graph.h"
#include "runtime/core/window.h"
#include "runtime/ops/keras_config.h"

namespace acts {

// The stride: attrs["strides"] when the config gave one, otherwise the pool (Keras' strides=None).
// Not LayerSpec::stride, whose default 1 (Conv2D's) would make an unconfigured pool overlap.
int pool2d_stride(const LayerSpec& s);

void parse_pool2d(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c);
void write_pool2d(const LayerSpec& s, nlohmann::json& cfg);
// The (OH, OW, C) output; refuses an input without (H, W, C) or, with 'valid', smaller than the pool.
void infer_pool2d(NodeShapes& io, const char* keras_class);

// The global poolings: (H, W, C) -> (C), or (1, 1, C) with keepdims=True (Keras 2.6+; the same
// memory either way). attrs["keepdims"] is 1 or 0.
void parse_global_pool2d(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c);
void write_global_pool2d(const LayerSpec& s, nlohmann::json& cfg);
void infer_global_pool2d(NodeShapes& io, const char* keras_class);

// The kernels' geometry of node `nd` for a batch of n.
inline Pool2dShape pool2d_shape_of(const Node& nd, int n) {
  return pool2d_shape(nd.spec.padding, n, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], nd.spec.pool,
                      pool2d_stride(nd.spec));
}

// The pooling window's reach (Op::reach): pool x pool, moved by the stride.
inline Reach pool2d_reach(const Node& nd) { return {false, nd.spec.pool, pool2d_stride(nd.spec)}; }

}  // namespace acts
