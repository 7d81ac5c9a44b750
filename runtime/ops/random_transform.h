// What Keras 3's random image layers share (RandomFlip, RandomRotation, RandomZoom,
// RandomTranslation; each has its op folder): their config keys (factors, fill_mode,
// interpolation, fill_value), their kernels (kernels/random_transform.h) and their CPU and CUDA
// ops (runtime/cpu/cpu_random_transform.cpp, runtime/cuda/cuda_random_transform.cpp). In training
// they warp each image of the batch by a transform drawn from (seed, step, layer, image);
// otherwise, as in Keras, they pass their input through unchanged. They run only before the
// model's first layer with weights (where Keras' guides put them): no gradient through a random
// warp is needed there.
#pragma once
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "kernels/random_transform.h"
#include "runtime/core/model_spec.h"
#include "runtime/ops/op.h"

namespace acts {

// The graph side every random image layer shares: the shape passes through, no parameters, and
// the layer must come before any layer with weights.
class RandomTransformOp : public Op {
 public:
  void infer(NodeShapes& io) const override;
};

// Keras' config keys, into / out of LayerSpec::attrs. A factor is a number f (the range
// [-|f|, |f|]) or a pair [lower, upper], within [-1, 1].
void parse_random_factor(const nlohmann::json& cfg, const char* key, const KerasConfig& c, LayerSpec& s);
nlohmann::json random_factor_json(const LayerSpec& s, const char* key);
// fill_mode, interpolation and fill_value (all but RandomFlip have them).
void parse_random_sampling(const nlohmann::json& cfg, const KerasConfig& c, LayerSpec& s);
void write_random_sampling(const LayerSpec& s, nlohmann::json& cfg);

// The layer's transform, from the attrs its parse() wrote (attrs["kind"] is its RandomKind).
RandomTransform random_transform_of(const LayerSpec& s);
bool is_random_transform(const LayerSpec& s);

// The CPU and CUDA halves every random image layer's folder hands out.
class CpuOp;
struct CpuOpEnv;
std::unique_ptr<CpuOp> random_transform_cpu(const Node& node, const CpuOpEnv& env);
class CudaOp;
struct CudaOpEnv;
std::unique_ptr<CudaOp> random_transform_cuda(const Node& node, const CudaOpEnv& env);

}  // namespace acts
