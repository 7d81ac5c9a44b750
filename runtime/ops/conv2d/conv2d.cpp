// Conv2D's graph side: Keras config, shapes, parameters. Runs with a square kernel, a square
// stride, 'valid' or 'same' padding (TensorFlow's split of an odd total: runtime/core/window.h),
// with or without a bias, and relu/sigmoid/linear; not dilated, not grouped.
#include <nlohmann/json.hpp>

#include "runtime/core/window.h"
#include "runtime/ops/conv2d/conv2d_geometry.h"
#include "runtime/ops/op.h"

namespace acts {
namespace {

Padding padding_of(const nlohmann::json& cfg, const KerasConfig& c) {
  const nlohmann::json v = cfg.value("padding", nlohmann::json("valid"));
  if (v == "valid") return Padding::Valid;
  if (v == "same") return Padding::Same;
  c.bad("padding=", v.dump(), " is not supported (only \"valid\" or \"same\")");
}

class Conv2DOp final : public Op {
 public:
  LayerType type() const override { return LayerType::Conv2D; }
  const char* keras_class() const override { return "Conv2D"; }
  const char* name_prefix() const override { return "conv2d"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.filters = c.positive_int(cfg.at("filters"), "filters");
    s.kernel = c.square(cfg.at("kernel_size"), "kernel_size");
    s.stride = c.square(cfg.value("strides", nlohmann::json(1)), "strides");
    if (cfg.contains("dilation_rate") && c.square(cfg["dilation_rate"], "dilation_rate") != 1)
      c.bad("dilation is not supported");
    s.padding = padding_of(cfg, c);
    c.expect(cfg, "groups", 1);
    const nlohmann::json use_bias = cfg.value("use_bias", nlohmann::json(true));
    if (!use_bias.is_boolean()) c.bad("use_bias must be true or false, not ", use_bias.dump());
    if (!use_bias.get<bool>()) s.attrs["use_bias"] = 0;
    s.activation = c.activation(cfg.value("activation", nlohmann::json("linear")));
  }

  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg.update({{"filters", s.filters},
                {"kernel_size", {s.kernel, s.kernel}},
                {"strides", {s.stride, s.stride}},
                {"padding", s.padding == Padding::Same ? "same" : "valid"},
                {"data_format", "channels_last"},
                {"dilation_rate", {1, 1}},
                {"activation", act_name(s.activation)},
                {"use_bias", conv_use_bias(s)}});
  }

  void infer(NodeShapes& io) const override {
    const LayerSpec& s = io.spec();
    const std::vector<int>& in = io.in();
    if (in.size() != 3) io.fail("Conv2D needs an (H, W, C) input");
    const Window1d rows = window_1d(s.padding, in[0], s.kernel, s.stride);
    const Window1d cols = window_1d(s.padding, in[1], s.kernel, s.stride);
    if (rows.out <= 0 || cols.out <= 0)  // 'valid' only: 'same' fits any input
      io.fail("input smaller than the ", s.kernel, "x", s.kernel, " kernel; use a larger --image-size");
    Node& nd = io.node();
    nd.pad_top = rows.pad_before, nd.pad_bottom = rows.pad_after;
    nd.pad_left = cols.pad_before, nd.pad_right = cols.pad_after;
    io.set_out({rows.out, cols.out, s.filters});
    io.add_param("kernel", {s.kernel, s.kernel, in[2], s.filters});
    if (conv_use_bias(s)) io.add_param("bias", {s.filters});
  }

  Reach reach(const Node& n) const override { return {false, n.spec.kernel, n.spec.stride}; }
};

}  // namespace

const Op& conv2d_op() {
  static const Conv2DOp op;
  return op;
}

}  // namespace acts
