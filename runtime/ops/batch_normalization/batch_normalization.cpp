// BatchNormalization's graph side (Keras' keras.layers.BatchNormalization): normalises every
// channel of the last axis, after a Conv2D (H, W, C) or a Dense (C). Parameters in Keras' order
// and names: gamma (scale=True), beta (center=True), then the non-trainable moving_mean and
// moving_variance; Keras' initial values gamma 1, beta 0, mean 0, variance 1.
// Refused: any axis but the last (channels_first models), renorm, synchronized, virtual batches,
// adjustment, regularizers and constraints (train_gpu applies none). Initializers are ignored:
// Keras' defaults are used (a model file's weights replace them anyway).
#include "runtime/ops/batch_normalization/batch_normalization.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

using json = nlohmann::json;

class BatchNormalizationOp final : public Op {
 public:
  LayerType type() const override { return LayerType::BatchNormalization; }
  const char* keras_class() const override { return "BatchNormalization"; }
  const char* name_prefix() const override { return "batch_normalization"; }

  void parse(const json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    // axis: -1, or the last axis by number (tf.keras writes [3] after a Conv2D); infer() checks
    // a number against the input's rank.
    json axis = cfg.value("axis", json(-1));
    if (axis.is_array() && axis.size() == 1) axis = axis[0];
    if (!axis.is_number_integer()) c.bad("axis=", axis.dump(), " is not supported (only the last axis, -1)");
    s.attrs["axis"] = double(axis.get<int64_t>());
    s.attrs["momentum"] = number(cfg, "momentum", 0.99, c);
    s.attrs["epsilon"] = number(cfg, "epsilon", 1e-3, c);
    if (s.attrs["momentum"] < 0 || s.attrs["momentum"] > 1)
      c.bad("momentum must be in [0, 1], not ", cfg["momentum"].dump());
    if (!(s.attrs["epsilon"] > 0)) c.bad("epsilon must be positive, not ", cfg["epsilon"].dump());
    s.attrs["center"] = flag(cfg, "center", c);
    s.attrs["scale"] = flag(cfg, "scale", c);
    if (cfg.value("renorm", json(false)) != json(false))
      c.bad("renorm=", cfg["renorm"].dump(), " is not supported (only false: plain batch statistics)");
    if (cfg.value("synchronized", json(false)) != json(false))
      c.bad("synchronized=", cfg["synchronized"].dump(),
            " is not supported (only false; one device's batch "
            "statistics are the same)");
    for (const char* key : {"virtual_batch_size", "adjustment", "beta_regularizer", "gamma_regularizer",
                            "beta_constraint", "gamma_constraint"})
      if (cfg.contains(key) && !cfg[key].is_null()) c.bad(key, "=", cfg[key].dump(), " is not supported (only null)");
  }

  void write(const LayerSpec& s, json& cfg) const override {
    const json zeros = {{"class_name", "Zeros"}, {"config", json::object()}};
    const json ones = {{"class_name", "Ones"}, {"config", json::object()}};
    cfg.update({{"axis", int(s.attrs.at("axis"))},
                {"momentum", s.attrs.at("momentum")},
                {"epsilon", s.attrs.at("epsilon")},
                {"center", s.attrs.at("center") != 0},
                {"scale", s.attrs.at("scale") != 0},
                {"beta_initializer", zeros},
                {"gamma_initializer", ones},
                {"moving_mean_initializer", zeros},
                {"moving_variance_initializer", ones},
                {"beta_regularizer", nullptr},
                {"gamma_regularizer", nullptr},
                {"beta_constraint", nullptr},
                {"gamma_constraint", nullptr}});
  }

  void infer(NodeShapes& io) const override {
    const std::vector<int>& in = io.in();
    const int axis = int(io.spec().attrs.at("axis"));
    if (axis != -1 && axis != int(in.size()))
      io.fail("axis=", axis, " is not supported: only the last axis (axis=-1, channels_last) is normalised");
    if (in.size() != 3 && in.size() != 1) io.fail("BatchNormalization needs an (H, W, C) or a (C) input");
    const int C = in.back();
    if (io.spec().attrs.at("scale") != 0) io.add_param("gamma", {C}, true, ParamInit::Ones);
    if (io.spec().attrs.at("center") != 0) io.add_param("beta", {C});
    io.add_param("moving_mean", {C}, false);
    io.add_param("moving_variance", {C}, false, ParamInit::Ones);
    io.set_out(in);
  }

 private:
  static double number(const json& cfg, const char* key, double fallback, const KerasConfig& c) {
    if (!cfg.contains(key) || cfg[key].is_null()) return fallback;
    const json& v = cfg[key];
    if (!v.is_number() || !std::isfinite(v.get<double>())) c.bad(key, " must be a finite number, not ", v.dump());
    return v.get<double>();
  }
  static double flag(const json& cfg, const char* key, const KerasConfig& c) {
    const json v = cfg.value(key, json(true));
    if (!v.is_boolean()) c.bad(key, " must be true or false, not ", v.dump());
    return v.get<bool>() ? 1 : 0;
  }
};

}  // namespace

const Op& batch_normalization_op() {
  static const BatchNormalizationOp op;
  return op;
}

}  // namespace acts
