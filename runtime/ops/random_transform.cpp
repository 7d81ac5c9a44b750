// The random image layers' shared graph side (see random_transform.h).
#include "runtime/ops/random_transform.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

namespace acts {
namespace {

using nlohmann::json;

constexpr FillMode kFillModes[] = {FillMode::kReflect, FillMode::kWrap, FillMode::kConstant, FillMode::kNearest};

const char* fill_name(FillMode m) {
  constexpr const char* names[] = {"reflect", "wrap", "constant", "nearest"};  // FillMode's order
  return names[int(m)];
}

double attr(const LayerSpec& s, const char* key, double otherwise) {
  const auto it = s.attrs.find(key);
  return it == s.attrs.end() ? otherwise : it->second;
}

}  // namespace

void RandomTransformOp::infer(NodeShapes& io) const {
  if (io.in().size() != 3) io.fail(keras_class(), " needs an (H, W, C) image input");
  if (io.after_weights())
    io.fail(keras_class(),
            " comes after a layer with weights; put the random image layers at the start of the "
            "model (before the first Conv2D or Dense), as Keras' guides do");
  io.set_out(io.in());
}

void parse_random_factor(const json& cfg, const char* key, const KerasConfig& c, LayerSpec& s) {
  if (!cfg.contains(key) || cfg[key].is_null()) c.bad(key, " is missing");
  const json& v = cfg[key];
  const auto number = [&](const json& x) {
    if (!x.is_number() || !std::isfinite(x.get<double>()))
      c.bad(key, " must be a number or two numbers, not ", v.dump());
    return x.get<double>();
  };
  double lo = 0, hi = 0;
  if (v.is_array()) {
    if (v.size() != 2) c.bad(key, " ", v.dump(), " must be a number or two numbers [lower, upper]");
    lo = number(v[0]), hi = number(v[1]);
    if (lo > hi) std::swap(lo, hi);
  } else {
    hi = std::fabs(number(v)), lo = -hi;
  }
  if (lo < -1 || hi > 1) c.bad(key, " ", v.dump(), " is outside [-1, 1] (Keras refuses it too)");
  s.attrs[std::string(key) + "_lo"] = lo;
  s.attrs[std::string(key) + "_hi"] = hi;
}

json random_factor_json(const LayerSpec& s, const char* key) {
  return json::array({s.attrs.at(std::string(key) + "_lo"), s.attrs.at(std::string(key) + "_hi")});
}

void parse_random_sampling(const json& cfg, const KerasConfig& c, LayerSpec& s) {
  const json fill = cfg.value("fill_mode", json("reflect"));
  s.attrs["fill"] = -1;
  for (FillMode m : kFillModes)
    if (fill == fill_name(m)) s.attrs["fill"] = int(m);
  if (s.attrs["fill"] < 0) c.bad("fill_mode ", fill.dump(), " is not one of reflect, wrap, constant, nearest");
  const json interp = cfg.value("interpolation", json("bilinear"));
  if (interp != "bilinear" && interp != "nearest")
    c.bad("interpolation ", interp.dump(), " is not supported (bilinear or nearest)");
  s.attrs["bilinear"] = interp == "bilinear";
  const json fv = cfg.value("fill_value", json(0.0));
  if (!fv.is_number() || !std::isfinite(fv.get<double>())) c.bad("fill_value must be a number, not ", fv.dump());
  s.attrs["fill_value"] = fv.get<double>();
}

void write_random_sampling(const LayerSpec& s, json& cfg) {
  cfg.update({{"fill_mode", fill_name(FillMode(int(s.attrs.at("fill"))))},
              {"interpolation", s.attrs.at("bilinear") != 0 ? "bilinear" : "nearest"},
              {"fill_value", s.attrs.at("fill_value")},
              {"seed", nullptr},
              {"data_format", "channels_last"}});
}

RandomTransform random_transform_of(const LayerSpec& s) {
  RandomTransform t;
  t.kind = RandomKind(int(attr(s, "kind", 0)));
  const bool rotation = t.kind == RandomKind::kRotation;
  t.lower = float(attr(s, rotation ? "factor_lo" : "height_factor_lo", 0));
  t.upper = float(attr(s, rotation ? "factor_hi" : "height_factor_hi", 0));
  t.wlower = float(attr(s, "width_factor_lo", 0));
  t.wupper = float(attr(s, "width_factor_hi", 0));
  t.has_width = t.kind == RandomKind::kTranslation || attr(s, "has_width", 0) != 0;
  t.flip_h = attr(s, "flip_h", 1) != 0;
  t.flip_v = attr(s, "flip_v", 0) != 0;
  t.fill = FillMode(int(attr(s, "fill", 0)));
  t.bilinear = attr(s, "bilinear", 1) != 0;
  t.fill_value = float(attr(s, "fill_value", 0));
  return t;
}

bool is_random_transform(const LayerSpec& s) {
  return s.type == LayerType::RandomFlip || s.type == LayerType::RandomRotation || s.type == LayerType::RandomZoom ||
         s.type == LayerType::RandomTranslation;
}

}  // namespace acts
