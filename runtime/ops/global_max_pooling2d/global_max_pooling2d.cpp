// GlobalMaxPooling2D's graph side: (H, W, C) -> (C), or (1, 1, C) with keepdims=True (Keras
// 2.6+; the same memory either way). No parameters.
#include <nlohmann/json.hpp>

#include "runtime/ops/op.h"

namespace acts {
namespace {

class GlobalMaxPooling2DOp final : public Op {
 public:
  LayerType type() const override { return LayerType::GlobalMaxPooling2D; }
  const char* keras_class() const override { return "GlobalMaxPooling2D"; }
  const char* name_prefix() const override { return "global_max_pooling2d"; }

  void parse(const nlohmann::json& cfg, LayerSpec& s, const KerasConfig& c) const override {
    const nlohmann::json keepdims = cfg.value("keepdims", nlohmann::json(false));
    if (!keepdims.is_boolean()) c.bad("keepdims must be true or false, not ", keepdims.dump());
    s.attrs["keepdims"] = keepdims.get<bool>() ? 1 : 0;
  }

  void write(const LayerSpec& s, nlohmann::json& cfg) const override {
    cfg.update({{"data_format", "channels_last"}, {"keepdims", keepdims(s)}});
  }

  void infer(NodeShapes& io) const override {
    const std::vector<int>& in = io.in();
    if (in.size() != 3) io.fail("GlobalMaxPooling2D needs an (H, W, C) input");
    io.set_out(keepdims(io.spec()) ? std::vector<int>{1, 1, in[2]} : std::vector<int>{in[2]});
  }

 private:
  static bool keepdims(const LayerSpec& s) {
    const auto it = s.attrs.find("keepdims");
    return it != s.attrs.end() && it->second != 0;
  }
};

}  // namespace

const Op& global_max_pooling2d_op() {
  static const GlobalMaxPooling2DOp op;
  return op;
}

}  // namespace acts
