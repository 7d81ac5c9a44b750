// Activation's graph side: relu, sigmoid, tanh, softmax (last axis) or linear; the shape passes through.
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

class ActivationOp final : public Op {
 public:
  LayerType type() const override { return LayerType::Activation; }
  const char* keras_class() const override { return "Activation"; }
  const char* name_prefix() const override { return "activation"; }
  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.activation = c.activation(cfg.at("activation"));
  }
  void write(const LayerSpec& s, nlohmann::json& cfg) const override { cfg["activation"] = act_name(s.activation); }
  void infer(NodeShapes& io) const override { io.set_out(io.in()); }
};

}  // namespace

const Op& activation_op() {
  static const ActivationOp op;
  return op;
}

}  // namespace acts
