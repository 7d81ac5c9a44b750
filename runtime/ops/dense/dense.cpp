// Dense's graph side: x (in) -> x W + b (units), with a bias and an activation (relu/sigmoid/tanh/softmax/linear).
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

class DenseOp final : public Op {
 public:
  LayerType type() const override { return LayerType::Dense; }
  const char* keras_class() const override { return "Dense"; }
  const char* name_prefix() const override { return "dense"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.units = c.positive_int(cfg.at("units"), "units");
    c.expect(cfg, "use_bias", true);
    s.activation = c.activation(cfg.value("activation", nlohmann::json("linear")));
  }

  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg.update({{"units", s.units}, {"activation", act_name(s.activation)}, {"use_bias", true}});
  }

  void infer(NodeShapes& io) const override {
    const std::vector<int>& in = io.in();
    if (in.size() != 1) io.fail("Dense needs a flat input; put a Flatten before it");
    io.set_out({io.spec().units});
    io.add_param("kernel", {in[0], io.spec().units});
    io.add_param("bias", {io.spec().units});
  }
  Reach reach(const Node&) const override { return {true, 0, 0}; }  // every input feature
};

}  // namespace

const Op& dense_op() {
  static const DenseOp op;
  return op;
}

}  // namespace acts
