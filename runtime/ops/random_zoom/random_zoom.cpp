// RandomZoom's graph side: Keras' config in and out; the rest is shared by the random image layers
// (runtime/ops/random_transform.h).
#include <nlohmann/json.hpp>

#include "runtime/ops/random_transform.h"

namespace acts {
namespace {

class RandomZoomOp final : public RandomTransformOp {
 public:
  LayerType type() const override { return LayerType::RandomZoom; }
  const char* keras_class() const override { return "RandomZoom"; }
  const char* name_prefix() const override { return "random_zoom"; }
  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.attrs["kind"] = int(RandomKind::kZoom);
    parse_random_factor(cfg, "height_factor", c, s);
    const bool width = cfg.contains("width_factor") && !cfg["width_factor"].is_null();
    if (width) parse_random_factor(cfg, "width_factor", c, s);
    s.attrs["has_width"] = width;  // without it, the height's draw zooms both axes
    // A zoom of 1 + factor: Keras refuses -1 (nothing left to show), and so do we.
    if (s.attrs["height_factor_lo"] <= -1 || (width && s.attrs["width_factor_lo"] <= -1))
      c.bad("a zoom factor of -1 or below zooms to nothing; use factors above -1");
    parse_random_sampling(cfg, c, s);
  }
  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg["height_factor"] = random_factor_json(s, "height_factor");
    cfg["width_factor"] = s.attrs.at("has_width") != 0 ? random_factor_json(s, "width_factor") : nlohmann::json();
    write_random_sampling(s, cfg);
  }
};

}  // namespace

const Op& random_zoom_op() {
  static const RandomZoomOp op;
  return op;
}

}  // namespace acts
