#include "runtime/ops/pooling2d.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace acts {

int pool2d_stride(const LayerSpec& s) {
  const auto it = s.attrs.find("strides");
  return it == s.attrs.end() ? s.pool : int(it->second);
}

void parse_pool2d(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) {
  s.pool = c.square(cfg.value("pool_size", nlohmann::json(2)), "pool_size");
  s.attrs.erase("strides");
  if (cfg.contains("strides") && !cfg["strides"].is_null()) s.attrs["strides"] = c.square(cfg["strides"], "strides");
  s.padding = Padding::Valid;
  if (cfg.contains("padding") && !cfg["padding"].is_null()) {
    const nlohmann::json& p = cfg["padding"];
    if (p == "same")
      s.padding = Padding::Same;
    else if (p != "valid")
      c.bad("padding=", p.dump(), " is not supported (only \"valid\" or \"same\")");
  }
}

void write_pool2d(const LayerSpec& s, nlohmann::json& cfg) {
  const int stride = pool2d_stride(s);
  cfg.update({{"pool_size", {s.pool, s.pool}},
              {"padding", s.padding == Padding::Same ? "same" : "valid"},
              {"strides", {stride, stride}},
              {"data_format", "channels_last"}});
}

void infer_pool2d(NodeShapes& io, const char* keras_class) {
  const std::vector<int>& in = io.in();
  if (in.size() != 3) io.fail(keras_class, " needs an (H, W, C) input");
  const LayerSpec& s = io.spec();
  const Window1d rows = window_1d(s.padding, in[0], s.pool, pool2d_stride(s));
  const Window1d cols = window_1d(s.padding, in[1], s.pool, pool2d_stride(s));
  if (rows.out <= 0 || cols.out <= 0) io.fail("input smaller than the pool; use a larger --image-size");
  Node& nd = io.node();
  nd.pad_top = rows.pad_before, nd.pad_bottom = rows.pad_after;
  nd.pad_left = cols.pad_before, nd.pad_right = cols.pad_after;
  io.set_out({rows.out, cols.out, in[2]});
}

namespace {
bool keepdims_of(const LayerSpec& s) {
  const auto it = s.attrs.find("keepdims");
  return it != s.attrs.end() && it->second != 0;
}
}  // namespace

void parse_global_pool2d(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) {
  const nlohmann::json keepdims = cfg.value("keepdims", nlohmann::json(false));
  if (!keepdims.is_boolean()) c.bad("keepdims must be true or false, not ", keepdims.dump());
  s.attrs["keepdims"] = keepdims.get<bool>() ? 1 : 0;
}

void write_global_pool2d(const LayerSpec& s, nlohmann::json& cfg) {
  cfg.update({{"data_format", "channels_last"}, {"keepdims", keepdims_of(s)}});
}

void infer_global_pool2d(NodeShapes& io, const char* keras_class) {
  const std::vector<int>& in = io.in();
  if (in.size() != 3) io.fail(keras_class, " needs an (H, W, C) input");
  io.set_out(keepdims_of(io.spec()) ? std::vector<int>{1, 1, in[2]} : std::vector<int>{in[2]});
}

}  // namespace acts
