// RandomFlip's graph side: Keras' config in and out; the rest is shared by the random image layers
// (runtime/ops/random_transform.h).
#include <nlohmann/json.hpp>

#include "runtime/ops/random_transform.h"

namespace acts {
namespace {

class RandomFlipOp final : public RandomTransformOp {
 public:
  LayerType type() const override { return LayerType::RandomFlip; }
  const char* keras_class() const override { return "RandomFlip"; }
  const char* name_prefix() const override { return "random_flip"; }
  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    const nlohmann::json mode = cfg.value("mode", nlohmann::json("horizontal_and_vertical"));
    if (mode != "horizontal" && mode != "vertical" && mode != "horizontal_and_vertical")
      c.bad("mode ", mode.dump(), " is not one of horizontal, vertical, horizontal_and_vertical");
    s.attrs["kind"] = int(RandomKind::kFlip);
    s.attrs["flip_h"] = mode != "vertical";
    s.attrs["flip_v"] = mode != "horizontal";
  }
  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    const bool h = s.attrs.at("flip_h") != 0, v = s.attrs.at("flip_v") != 0;
    cfg.update({{"mode", h && v ? "horizontal_and_vertical"
                         : h    ? "horizontal"
                                : "vertical"},
                {"seed", nullptr},
                {"data_format", "channels_last"}});
  }
};

}  // namespace

const Op& random_flip_op() {
  static const RandomFlipOp op;
  return op;
}

}  // namespace acts
