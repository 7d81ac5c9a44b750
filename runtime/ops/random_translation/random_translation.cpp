// RandomTranslation's graph side: Keras' config in and out; the rest is shared by the random image layers
// (runtime/ops/random_transform.h).
#include <nlohmann/json.hpp>

#include "runtime/ops/random_transform.h"

namespace acts {
namespace {

class RandomTranslationOp final : public RandomTransformOp {
 public:
  LayerType type() const override { return LayerType::RandomTranslation; }
  const char* keras_class() const override { return "RandomTranslation"; }
  const char* name_prefix() const override { return "random_translation"; }
  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.attrs["kind"] = int(RandomKind::kTranslation);
    parse_random_factor(cfg, "height_factor", c, s);  // fractions of the image side
    parse_random_factor(cfg, "width_factor", c, s);
    parse_random_sampling(cfg, c, s);
  }
  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg["height_factor"] = random_factor_json(s, "height_factor");
    cfg["width_factor"] = random_factor_json(s, "width_factor");
    write_random_sampling(s, cfg);
  }
};

}  // namespace

const Op& random_translation_op() {
  static const RandomTranslationOp op;
  return op;
}

}  // namespace acts
