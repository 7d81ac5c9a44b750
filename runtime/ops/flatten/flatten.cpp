// Flatten's graph side: (H, W, C) -> (H*W*C). Row-major (H, W, C) already is Keras'
// batch_flatten order, so the backends move no data.
#include <limits>

#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

class FlattenOp final : public Op {
 public:
  LayerType type() const override { return LayerType::Flatten; }
  const char* keras_class() const override { return "Flatten"; }
  const char* name_prefix() const override { return "flatten"; }
  void parse(const nlohmann::json&, LayerSpec&, const KerasConfig&) const override {}
  void write(const LayerSpec&, nlohmann::json&) const override {}

  void infer(NodeShapes& io) const override {
    const int64_t total = io.count(io.in(), "the flattened output");
    if (total > std::numeric_limits<int>::max())
      io.fail("the flattened output has over 2^31 elements; use a smaller --image-size");
    io.set_out({int(total)});
  }
  // Every output is one input position, but what follows (Dense) mixes them all: from here on
  // a unit sees the whole input.
  Reach reach(const Node&) const override { return {true, 0, 0}; }
};

}  // namespace

const Op& flatten_op() {
  static const FlattenOp op;
  return op;
}

}  // namespace acts
