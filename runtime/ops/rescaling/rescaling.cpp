// Rescaling's graph side: y = x * scale + offset, elementwise, any input shape (Keras'
// keras.layers.Rescaling, the second edition's Rescaling(1./255) in the model). Scalar scale and
// offset; Keras' per-channel lists are refused. No parameters.
#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"
#include "runtime/ops/random_transform.h"

namespace acts {
namespace {

class RescalingOp final : public Op {
 public:
  LayerType type() const override { return LayerType::Rescaling; }
  const char* keras_class() const override { return "Rescaling"; }
  const char* name_prefix() const override { return "rescaling"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.attrs["scale"] = number(cfg, "scale", c);
    s.attrs["offset"] = cfg.contains("offset") && !cfg["offset"].is_null() ? number(cfg, "offset", c) : 0.0;
  }

  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg.update({{"scale", s.attrs.at("scale")}, {"offset", s.attrs.at("offset")}});
  }

  void infer(NodeShapes& io) const override { io.set_out(io.in()); }

 private:
  static double number(const nlohmann::json& cfg, const char* key, const KerasConfig& c) {
    if (!cfg.contains(key)) c.bad(key, " is missing");
    const nlohmann::json& v = cfg[key];
    if (v.is_array()) c.bad(key, " ", v.dump(), " is not supported (only one number for every channel)");
    if (!v.is_number() || !std::isfinite(v.get<double>()) || !std::isfinite(float(v.get<double>())))
      c.bad(key, " must be a finite number, not ", v.dump());
    return v.get<double>();
  }
};

}  // namespace

bool rescales_its_input(const ModelSpec& m) {
  // The random image layers may come first (the second edition's model: augmentation, then
  // Rescaling(1./255)): they warp 0-255 pixels as well as any others.
  for (const LayerSpec& s : m.layers) {
    if (s.type == LayerType::Rescaling) return true;
    if (!is_random_transform(s)) return false;
  }
  return false;
}

const Op& rescaling_op() {
  static const RescalingOp op;
  return op;
}

}  // namespace acts
