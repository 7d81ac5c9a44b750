// MaxPooling2D's graph side: a square pool, a square stride (default: the pool), 'valid' or
// 'same' padding (runtime/ops/pooling2d.h).
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"
#include "runtime/ops/pooling2d.h"

namespace acts {
namespace {

class MaxPooling2DOp final : public Op {
 public:
  LayerType type() const override { return LayerType::MaxPooling2D; }
  const char* keras_class() const override { return "MaxPooling2D"; }
  const char* name_prefix() const override { return "max_pooling2d"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override { parse_pool2d(cfg, s, c); }

  void write(const LayerSpec& s, nlohmann::json& cfg) const override { write_pool2d(s, cfg); }

  void infer(NodeShapes& io) const override { infer_pool2d(io, "MaxPooling2D"); }
  Reach reach(const Node& n) const override { return pool2d_reach(n); }
};

}  // namespace

const Op& max_pooling2d_op() {
  static const MaxPooling2DOp op;
  return op;
}

}  // namespace acts
