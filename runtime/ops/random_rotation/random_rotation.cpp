// RandomRotation's graph side: Keras' config in and out; the rest is shared by the random image layers
// (runtime/ops/random_transform.h).
#include <nlohmann/json.hpp>

#include "runtime/ops/random_transform.h"

namespace acts {
namespace {

class RandomRotationOp final : public RandomTransformOp {
 public:
  LayerType type() const override { return LayerType::RandomRotation; }
  const char* keras_class() const override { return "RandomRotation"; }
  const char* name_prefix() const override { return "random_rotation"; }
  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.attrs["kind"] = int(RandomKind::kRotation);
    parse_random_factor(cfg, "factor", c, s);  // in turns: the angle is factor * 360 degrees
    parse_random_sampling(cfg, c, s);
  }
  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg["factor"] = random_factor_json(s, "factor");
    write_random_sampling(s, cfg);
  }
};

}  // namespace

const Op& random_rotation_op() {
  static const RandomRotationOp op;
  return op;
}

}  // namespace acts
