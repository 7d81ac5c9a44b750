#include "runtime/keras/keras_optimizer.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace acts {
using json = nlohmann::json;
namespace {

// "Custom>RMSprop" (tf-keras 2.11+), "RMSprop", Keras 3's variable-group name "rm_sprop".
bool is_rmsprop(const std::string& cls) {
  std::string c = cls.substr(cls.rfind('>') == std::string::npos ? 0 : cls.rfind('>') + 1);
  for (char& ch : c) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return c == "rmsprop" || c == "rm_sprop";
}

double number(const json& cfg, const char* key, double fallback) {
  if (!cfg.is_object() || !cfg.contains(key) || !cfg[key].is_number()) return fallback;
  return cfg[key].get<double>();
}

}  // namespace

void import_optimizer(const OptimizerSource& src, const Graph& g, KerasModel& m) {
  const json cfg = src.config.is_object() && src.config.contains("config") ? src.config["config"] : json::object();
  if (src.config.is_object() && src.config.value("class_name", json()).is_string()) {
    m.optimizer = src.config["class_name"].get<std::string>();
    if (m.optimizer.rfind("Custom>", 0) == 0) m.optimizer.erase(0, 7);
  } else if (!src.name.empty()) {
    m.optimizer = is_rmsprop(src.name) ? "RMSprop" : src.name;
  }
  const double lr = number(cfg, "learning_rate", number(cfg, "lr", -1));
  if (lr > 0) m.ckpt.meta["keras_learning_rate"] = std::to_string(lr);
  std::vector<const H5Tensor*> slots;
  for (const H5Tensor& t : src.tensors)
    if (!t.shape.empty()) slots.push_back(&t);
  if (src.tensors.empty()) {
    m.opt_note = "the file holds no optimizer state: RMSprop starts fresh";
    return;
  }
  if (m.optimizer.empty()) {
    m.opt_note = "the file does not name its optimizer: its state is not imported and RMSprop starts fresh";
    return;
  }
  if (!is_rmsprop(m.optimizer)) {
    m.opt_note = "the file was trained with " + m.optimizer + "; train_gpu trains with RMSprop, which starts fresh "
                 "(the " + m.optimizer + " state is not used)";
    return;
  }
  if (number(cfg, "momentum", 0) != 0 || (cfg.contains("centered") && cfg["centered"] == true)) {
    m.opt_note = "the file's RMSprop uses momentum or is centered, which train_gpu's RMSprop is not: its state is "
                 "not imported and RMSprop starts fresh";
    return;
  }
  // Keras keeps a slot for each trainable variable only: none for BatchNormalization's moving
  // statistics, whose accumulators stay zero here (their gradient is always zero).
  std::vector<ParamRef> ps;
  for (const ParamRef& p : g.params())
    if (p.trainable) ps.push_back(p);
  bool maps = slots.size() == ps.size();
  for (size_t i = 0; maps && i < ps.size(); ++i) maps = slots[i]->shape == ps[i].shape && slots[i]->data.size() == ps[i].size;
  if (!maps) {
    m.opt_note = "the file's " + std::to_string(slots.size()) + " RMSprop tensors do not map one to one onto the "
                 "model's " + std::to_string(ps.size()) + " trainable parameter tensors: RMSprop starts fresh";
    return;
  }
  m.ckpt.opt_state.assign(g.param_count(), 0.f);
  for (size_t i = 0; i < ps.size(); ++i)
    std::copy(slots[i]->data.begin(), slots[i]->data.end(), m.ckpt.opt_state.begin() + long(ps[i].offset));
  const double rho = number(cfg, "rho", 0.9);
  char buf[160];
  std::snprintf(buf, sizeof buf, "imported the file's RMSprop accumulators (the moving average of g^2%s)",
                rho == 0.9 || std::abs(rho - 0.9) < 1e-6 ? "" : "; its rho differs from train_gpu's 0.9");
  m.opt_note = buf;
}

}  // namespace acts
