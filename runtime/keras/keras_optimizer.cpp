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

bool is_adam(const std::string& cls) {
  std::string c = cls.substr(cls.rfind('>') == std::string::npos ? 0 : cls.rfind('>') + 1);
  for (char& ch : c) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return c == "adam";
}

double number(const json& cfg, const char* key, double fallback) {
  if (!cfg.is_object() || !cfg.contains(key) || !cfg[key].is_number()) return fallback;
  return cfg[key].get<double>();
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// 'm', 'v' or 0 for an Adam slot's HDF5 weight name: tf.keras "Adam/conv2d/kernel/m:0" or
// "Adam/m/conv2d/kernel:0", Keras 3's "adam/conv2d_kernel_momentum"; Keras 2's
// "training/Adam/Variable_3:0" says neither.
char adam_slot_of(std::string name) {
  if (const size_t colon = name.rfind(':'); colon != std::string::npos) name.erase(colon);
  for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  name = "/" + name;  // "m/dense/kernel" (tf.keras 2.11+) as ".../m/dense/kernel"
  if (ends_with(name, "/m") || ends_with(name, "momentum") || name.find("/m/") != std::string::npos) return 'm';
  if (ends_with(name, "/v") || ends_with(name, "velocity") || name.find("/v/") != std::string::npos) return 'v';
  return 0;
}

// Adam's m and v per parameter tensor, in the graph's order, or empty when the file's tensors do
// not map (`why` says how).
std::vector<const H5Tensor*> adam_slots(const OptimizerSource& src, const Graph& g, std::string& why) {
  std::vector<const H5Tensor*> slots, ms, vs;
  std::vector<std::string> names;
  for (size_t i = 0; i < src.tensors.size(); ++i)
    if (!src.tensors[i].shape.empty()) {
      slots.push_back(&src.tensors[i]);
      names.push_back(i < src.names.size() ? src.names[i] : "");
    }
  const size_t P = g.params().size();
  if (slots.size() != 2 * P) {
    why = "the file's " + std::to_string(slots.size()) + " Adam tensors are not an m and a v for each of the model's " +
          std::to_string(P) + " parameter tensors";
    return {};
  }
  bool named = !src.names.empty();
  for (size_t i = 0; named && i < slots.size(); ++i) {
    const char k = adam_slot_of(names[i]);
    if (k == 'm') ms.push_back(slots[i]);
    else if (k == 'v') vs.push_back(slots[i]);
    else named = false;
  }
  if (!named) {
    ms.clear();
    vs.clear();
    for (size_t i = 0; i < P; ++i) {
      if (src.names.empty()) {  // Keras 3's optimizer/vars: momentum and velocity of each variable in turn
        ms.push_back(slots[2 * i]);
        vs.push_back(slots[2 * i + 1]);
      } else {  // Keras 2's weights: [iterations] + ms + vs
        ms.push_back(slots[i]);
        vs.push_back(slots[P + i]);
      }
    }
  }
  const std::vector<ParamRef>& ps = g.params();
  bool maps = ms.size() == P && vs.size() == P;
  for (size_t i = 0; maps && i < P; ++i)
    maps = ms[i]->shape == ps[i].shape && vs[i]->shape == ps[i].shape && ms[i]->data.size() == ps[i].size &&
           vs[i]->data.size() == ps[i].size;
  if (!maps) {
    why = "the file's Adam tensors do not map one to one onto the model's parameter tensors";
    return {};
  }
  ms.insert(ms.end(), vs.begin(), vs.end());
  return ms;
}

// Adam's state into m.ckpt (opt_state m then v, the iteration count) when it maps; says what happened.
void import_adam(const OptimizerSource& src, const json& cfg, const Graph& g, KerasModel& m) {
  if (cfg.contains("amsgrad") && cfg["amsgrad"] == true) {
    m.opt_note = "the file's Adam uses amsgrad, which train_gpu's Adam does not: its state is not imported and Adam "
                 "starts fresh";
    return;
  }
  std::string why;
  const std::vector<const H5Tensor*> slots = adam_slots(src, g, why);
  const H5Tensor* first = src.tensors.empty() ? nullptr : &src.tensors.front();
  // A whole, non-negative count that a uint64 holds (a damaged file's inf or 1e30 is no count).
  const bool counted = first && first->shape.empty() && first->data.size() == 1 && first->data[0] >= 0 &&
                       first->data[0] < 1e15f && std::floor(first->data[0]) == first->data[0];
  if (slots.empty() || !counted) {
    m.opt_note = (slots.empty() ? why : "the file's Adam state has no iteration count first") + ": Adam starts fresh";
    return;
  }
  const std::vector<ParamRef>& ps = g.params();
  const size_t n = g.param_count();
  m.ckpt.opt_state.assign(2 * n, 0.f);
  for (size_t k = 0; k < 2; ++k)
    for (size_t i = 0; i < ps.size(); ++i)
      std::copy(slots[k * ps.size() + i]->data.begin(), slots[k * ps.size() + i]->data.end(),
                m.ckpt.opt_state.begin() + long(k * n + ps[i].offset));
  const uint64_t iterations = uint64_t(first->data[0]);
  m.ckpt.meta["optimizer"] = "adam";
  m.ckpt.meta["optimizer_iterations"] = std::to_string(iterations);
  const bool defaults = std::abs(number(cfg, "beta_1", 0.9) - 0.9) < 1e-9 &&
                        std::abs(number(cfg, "beta_2", 0.999) - 0.999) < 1e-9 &&
                        std::abs(number(cfg, "epsilon", 1e-7) - 1e-7) < 1e-12;
  m.opt_note = "imported the file's Adam m and v after " + std::to_string(iterations) + " iterations" +
               (defaults ? "" : "; its beta_1, beta_2 or epsilon differ from train_gpu's 0.9, 0.999, 1e-7");
}

}  // namespace

void import_optimizer(const OptimizerSource& src, const Graph& g, KerasModel& m) {
  const json cfg = src.config.is_object() && src.config.contains("config") ? src.config["config"] : json::object();
  if (src.config.is_object() && src.config.value("class_name", json()).is_string()) {
    m.optimizer = src.config["class_name"].get<std::string>();
    if (m.optimizer.rfind("Custom>", 0) == 0) m.optimizer.erase(0, 7);
  } else if (!src.name.empty()) {
    m.optimizer = is_rmsprop(src.name) ? "RMSprop" : is_adam(src.name) ? "Adam" : src.name;
  }
  if (is_adam(m.optimizer)) m.optimizer = "Adam";  // "Custom>Adam", Keras 3's "adam" variable group
  if (is_rmsprop(m.optimizer)) m.optimizer = "RMSprop";
  const double lr = number(cfg, "learning_rate", number(cfg, "lr", -1));
  if (lr > 0) m.ckpt.meta["keras_learning_rate"] = std::to_string(lr);
  std::vector<const H5Tensor*> slots;
  for (const H5Tensor& t : src.tensors)
    if (!t.shape.empty()) slots.push_back(&t);
  if (src.tensors.empty()) {
    m.opt_note = "the file holds no optimizer state: the optimizer starts fresh";
    return;
  }
  if (m.optimizer.empty()) {
    m.opt_note = "the file does not name its optimizer: its state is not imported and the optimizer starts fresh";
    return;
  }
  if (m.optimizer == "Adam") {
    import_adam(src, cfg, g, m);
    return;
  }
  if (!is_rmsprop(m.optimizer)) {
    m.opt_note = "the file was trained with " + m.optimizer + "; train_gpu trains with RMSprop or Adam, which start "
                 "fresh (the " + m.optimizer + " state is not used)";
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
  m.ckpt.meta["optimizer"] = "rmsprop";
  const double rho = number(cfg, "rho", 0.9);
  char buf[160];
  std::snprintf(buf, sizeof buf, "imported the file's RMSprop accumulators (the moving average of g^2%s)",
                rho == 0.9 || std::abs(rho - 0.9) < 1e-6 ? "" : "; its rho differs from train_gpu's 0.9");
  m.opt_note = buf;
}

}  // namespace acts
