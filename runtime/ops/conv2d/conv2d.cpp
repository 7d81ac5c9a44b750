// Conv2D's graph side: Keras config, shapes, parameters. Runs with a square kernel, stride 1,
// 'valid' padding, a bias and relu/sigmoid/linear (what the kernels of kernels/cpu/conv2d.h and
// cuDNN's calls in conv2d_cuda.cpp implement today).
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

class Conv2DOp final : public Op {
 public:
  LayerType type() const override { return LayerType::Conv2D; }
  const char* keras_class() const override { return "Conv2D"; }
  const char* name_prefix() const override { return "conv2d"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.filters = c.positive_int(cfg.at("filters"), "filters");
    s.kernel = c.square(cfg.at("kernel_size"), "kernel_size");
    if (c.square(cfg.value("strides", nlohmann::json(1)), "strides") != 1) c.bad("strides other than 1 are not supported");
    if (cfg.contains("dilation_rate") && c.square(cfg["dilation_rate"], "dilation_rate") != 1)
      c.bad("dilation is not supported");
    c.expect(cfg, "padding", "valid");
    c.expect(cfg, "groups", 1);
    c.expect(cfg, "use_bias", true);
    s.activation = c.activation(cfg.value("activation", nlohmann::json("linear")));
  }

  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg.update({{"filters", s.filters}, {"kernel_size", {s.kernel, s.kernel}}, {"strides", {1, 1}},
                {"padding", "valid"}, {"data_format", "channels_last"}, {"dilation_rate", {1, 1}},
                {"activation", act_name(s.activation)}, {"use_bias", true}});
  }

  void infer(NodeShapes& io) const override {
    const LayerSpec& s = io.spec();
    const std::vector<int>& in = io.in();
    if (in.size() != 3) io.fail("Conv2D needs an (H, W, C) input");
    if (in[0] < s.kernel || in[1] < s.kernel)
      io.fail("input smaller than the ", s.kernel, "x", s.kernel, " kernel; use a larger --image-size");
    io.set_out({in[0] - s.kernel + 1, in[1] - s.kernel + 1, s.filters});
    io.add_param("kernel", {s.kernel, s.kernel, in[2], s.filters});
    io.add_param("bias", {s.filters});
  }
};

}  // namespace

const Op& conv2d_op() {
  static const Conv2DOp op;
  return op;
}

}  // namespace acts
