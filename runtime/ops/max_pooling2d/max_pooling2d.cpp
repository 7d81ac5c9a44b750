// MaxPooling2D's graph side: a square pool, stride = pool, 'valid' padding (floor).
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

class MaxPooling2DOp final : public Op {
 public:
  LayerType type() const override { return LayerType::MaxPooling2D; }
  const char* keras_class() const override { return "MaxPooling2D"; }
  const char* name_prefix() const override { return "max_pooling2d"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    s.pool = c.square(cfg.value("pool_size", nlohmann::json(2)), "pool_size");
    if (cfg.contains("strides") && !cfg["strides"].is_null() && c.square(cfg["strides"], "strides") != s.pool)
      c.bad("strides must equal pool_size");
    c.expect(cfg, "padding", "valid");
  }

  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg.update({{"pool_size", {s.pool, s.pool}}, {"padding", "valid"}, {"strides", {s.pool, s.pool}},
                {"data_format", "channels_last"}});
  }

  void infer(NodeShapes& io) const override {
    const int pool = io.spec().pool;
    const std::vector<int>& in = io.in();
    if (in.size() != 3) io.fail("MaxPooling2D needs an (H, W, C) input");
    if (in[0] < pool || in[1] < pool) io.fail("input smaller than the pool; use a larger --image-size");
    io.set_out({in[0] / pool, in[1] / pool, in[2]});
  }
};

}  // namespace

const Op& max_pooling2d_op() {
  static const MaxPooling2DOp op;
  return op;
}

}  // namespace acts
