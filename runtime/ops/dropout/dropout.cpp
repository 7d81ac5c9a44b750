// Dropout's graph side: the rate; the shape passes through.
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

class DropoutOp final : public Op {
 public:
  LayerType type() const override { return LayerType::Dropout; }
  const char* keras_class() const override { return "Dropout"; }
  const char* name_prefix() const override { return "dropout"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.rate = cfg.at("rate");
    if (!(s.rate >= 0.f && s.rate < 1.f)) c.bad("rate must be in [0, 1)");
  }
  void write(const LayerSpec& s, nlohmann::json& cfg) const override { cfg["rate"] = s.rate; }
  void infer(NodeShapes& io) const override { io.set_out(io.in()); }
};

}  // namespace

const Op& dropout_op() {
  static const DropoutOp op;
  return op;
}

}  // namespace acts
