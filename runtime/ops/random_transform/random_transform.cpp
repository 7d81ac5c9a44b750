// The graph side of the random image layers (see random_transform.h): Keras config in and out,
// the shape passes through, no parameters.
#include "runtime/ops/random_transform/random_transform.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

using nlohmann::json;

const char* fill_name(FillMode m) {
  switch (m) {
    case FillMode::kReflect: return "reflect";
    case FillMode::kWrap: return "wrap";
    case FillMode::kConstant: return "constant";
    case FillMode::kNearest: return "nearest";
  }
  return "reflect";
}

// A factor as Keras takes it: a number f (the range [-|f|, |f|]) or a pair [lower, upper]
// (sorted), each within [-bound, bound]. Stored as attrs[key + "_lo"/"_hi"].
void parse_factor(const json& cfg, const char* key, const KerasConfig& c, LayerSpec& s, double bound = 1.0) {
  if (!cfg.contains(key) || cfg[key].is_null()) c.bad(key, " is missing");
  const json& v = cfg[key];
  double lo = 0, hi = 0;
  const auto number = [&](const json& x) {
    if (!x.is_number() || !std::isfinite(x.get<double>())) c.bad(key, " must be a number or two numbers, not ", v.dump());
    return x.get<double>();
  };
  if (v.is_array()) {
    if (v.size() != 2) c.bad(key, " ", v.dump(), " must be a number or two numbers [lower, upper]");
    lo = number(v[0]), hi = number(v[1]);
    if (lo > hi) std::swap(lo, hi);
  } else {
    hi = std::fabs(number(v)), lo = -hi;
  }
  if (lo < -bound || hi > bound) c.bad(key, " ", v.dump(), " is outside [", -bound, ", ", bound, "] (Keras refuses it too)");
  s.attrs[std::string(key) + "_lo"] = lo;
  s.attrs[std::string(key) + "_hi"] = hi;
}

// fill_mode, interpolation and fill_value: every layer but RandomFlip has them.
void parse_sampling(const json& cfg, const KerasConfig& c, LayerSpec& s) {
  const std::string fill = cfg.value("fill_mode", json("reflect")).is_string() ? cfg.value("fill_mode", "reflect") : "?";
  const FillMode modes[] = {FillMode::kReflect, FillMode::kWrap, FillMode::kConstant, FillMode::kNearest};
  s.attrs["fill"] = -1;
  for (FillMode m : modes)
    if (fill == fill_name(m)) s.attrs["fill"] = int(m);
  if (s.attrs["fill"] < 0) c.bad("fill_mode ", cfg["fill_mode"].dump(), " is not one of reflect, wrap, constant, nearest");
  const json interp = cfg.value("interpolation", json("bilinear"));
  if (interp != "bilinear" && interp != "nearest")
    c.bad("interpolation ", interp.dump(), " is not supported (bilinear or nearest)");
  s.attrs["bilinear"] = interp == "bilinear";
  const json fv = cfg.value("fill_value", json(0.0));
  if (!fv.is_number() || !std::isfinite(fv.get<double>())) c.bad("fill_value must be a number, not ", fv.dump());
  s.attrs["fill_value"] = fv.get<double>();
}

void write_sampling(const LayerSpec& s, json& cfg) {
  cfg.update({{"fill_mode", fill_name(FillMode(int(s.attrs.at("fill"))))},
              {"interpolation", s.attrs.at("bilinear") != 0 ? "bilinear" : "nearest"},
              {"fill_value", s.attrs.at("fill_value")}, {"seed", nullptr}, {"data_format", "channels_last"}});
}

json factor_json(const LayerSpec& s, const std::string& key) {
  return json::array({s.attrs.at(key + "_lo"), s.attrs.at(key + "_hi")});
}

// The four ops differ in their keys only.
class RandomOp : public Op {
 public:
  void infer(NodeShapes& io) const override {
    if (io.in().size() != 3) io.fail(keras_class(), " needs an (H, W, C) image input");
    if (io.after_weights())
      io.fail(keras_class(), " comes after a layer with weights; put the random image layers at the start of the "
              "model (before the first Conv2D or Dense), as Keras' guides do");
    io.set_out(io.in());
  }
};

class RandomFlipOp final : public RandomOp {
 public:
  LayerType type() const override { return LayerType::RandomFlip; }
  const char* keras_class() const override { return "RandomFlip"; }
  const char* name_prefix() const override { return "random_flip"; }
  void parse(const json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    const json mode = cfg.value("mode", json("horizontal_and_vertical"));
    if (mode != "horizontal" && mode != "vertical" && mode != "horizontal_and_vertical")
      c.bad("mode ", mode.dump(), " is not one of horizontal, vertical, horizontal_and_vertical");
    s.attrs["flip_h"] = mode != "vertical";
    s.attrs["flip_v"] = mode != "horizontal";
  }
  void write(const LayerSpec& s, json& cfg) const override {
    const bool h = s.attrs.at("flip_h") != 0, v = s.attrs.at("flip_v") != 0;
    cfg.update({{"mode", h && v ? "horizontal_and_vertical" : h ? "horizontal" : "vertical"}, {"seed", nullptr},
                {"data_format", "channels_last"}});
  }
};

class RandomRotationOp final : public RandomOp {
 public:
  LayerType type() const override { return LayerType::RandomRotation; }
  const char* keras_class() const override { return "RandomRotation"; }
  const char* name_prefix() const override { return "random_rotation"; }
  void parse(const json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    parse_factor(cfg, "factor", c, s);
    parse_sampling(cfg, c, s);
  }
  void write(const LayerSpec& s, json& cfg) const override {
    cfg["factor"] = factor_json(s, "factor");
    write_sampling(s, cfg);
  }
};

class RandomZoomOp final : public RandomOp {
 public:
  LayerType type() const override { return LayerType::RandomZoom; }
  const char* keras_class() const override { return "RandomZoom"; }
  const char* name_prefix() const override { return "random_zoom"; }
  void parse(const json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    parse_factor(cfg, "height_factor", c, s);
    const bool width = cfg.contains("width_factor") && !cfg["width_factor"].is_null();
    if (width) parse_factor(cfg, "width_factor", c, s);
    s.attrs["has_width"] = width;
    // Keras refuses -1 (a zoom of 0); a range reaching it would too.
    if (s.attrs["height_factor_lo"] <= -1 || (width && s.attrs["width_factor_lo"] <= -1))
      c.bad("a zoom factor of -1 or below zooms to nothing; use factors above -1");
    parse_sampling(cfg, c, s);
  }
  void write(const LayerSpec& s, json& cfg) const override {
    cfg["height_factor"] = factor_json(s, "height_factor");
    cfg["width_factor"] = s.attrs.at("has_width") != 0 ? factor_json(s, "width_factor") : json(nullptr);
    write_sampling(s, cfg);
  }
};

class RandomTranslationOp final : public RandomOp {
 public:
  LayerType type() const override { return LayerType::RandomTranslation; }
  const char* keras_class() const override { return "RandomTranslation"; }
  const char* name_prefix() const override { return "random_translation"; }
  void parse(const json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    parse_factor(cfg, "height_factor", c, s);
    parse_factor(cfg, "width_factor", c, s);
    parse_sampling(cfg, c, s);
  }
  void write(const LayerSpec& s, json& cfg) const override {
    cfg["height_factor"] = factor_json(s, "height_factor");
    cfg["width_factor"] = factor_json(s, "width_factor");
    write_sampling(s, cfg);
  }
};

}  // namespace

RandomTransform random_transform_of(const LayerSpec& s) {
  RandomTransform t;
  const auto get = [&](const char* key, double otherwise) {
    const auto it = s.attrs.find(key);
    return it == s.attrs.end() ? otherwise : it->second;
  };
  switch (s.type) {
    case LayerType::RandomFlip: t.kind = RandomKind::kFlip; break;
    case LayerType::RandomRotation: t.kind = RandomKind::kRotation; break;
    case LayerType::RandomZoom: t.kind = RandomKind::kZoom; break;
    default: t.kind = RandomKind::kTranslation; break;
  }
  const bool rotation = t.kind == RandomKind::kRotation;
  t.lower = float(get(rotation ? "factor_lo" : "height_factor_lo", 0));
  t.upper = float(get(rotation ? "factor_hi" : "height_factor_hi", 0));
  t.wlower = float(get("width_factor_lo", 0));
  t.wupper = float(get("width_factor_hi", 0));
  t.has_width = t.kind == RandomKind::kTranslation || get("has_width", 0) != 0;
  t.flip_h = get("flip_h", 1) != 0;
  t.flip_v = get("flip_v", 0) != 0;
  t.fill = FillMode(int(get("fill", 0)));
  t.bilinear = get("bilinear", 1) != 0;
  t.fill_value = float(get("fill_value", 0));
  return t;
}

const Op& random_flip_op() {
  static const RandomFlipOp op;
  return op;
}
const Op& random_rotation_op() {
  static const RandomRotationOp op;
  return op;
}
const Op& random_zoom_op() {
  static const RandomZoomOp op;
  return op;
}
const Op& random_translation_op() {
  static const RandomTranslationOp op;
  return op;
}

}  // namespace acts
