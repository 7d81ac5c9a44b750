// GlobalAveragePooling2D's graph side: the mean of each channel; the shape and keepdims as the other global pooling
// (runtime/ops/pooling2d.h). No parameters.
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"
#include "runtime/ops/pooling2d.h"

namespace acts {
namespace {

class GlobalAveragePooling2DOp final : public Op {
 public:
  LayerType type() const override { return LayerType::GlobalAveragePooling2D; }
  const char* keras_class() const override { return "GlobalAveragePooling2D"; }
  const char* name_prefix() const override { return "global_average_pooling2d"; }
  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    parse_global_pool2d(cfg, s, c);
  }
  void write(const LayerSpec& s, nlohmann::json& cfg) const override { write_global_pool2d(s, cfg); }
  void infer(NodeShapes& io) const override { infer_global_pool2d(io, keras_class()); }
  Reach reach(const Node&) const override { return {true, 0, 0}; }  // every position, every output
};

}  // namespace

const Op& global_average_pooling2d_op() {
  static const GlobalAveragePooling2DOp op;
  return op;
}

}  // namespace acts
