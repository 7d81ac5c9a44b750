// Keras model JSON <-> ModelSpec. Accepts Keras 2.0.x (config is the layer list), Keras 2.2+
// (config.layers) and Keras 3 (config.layers with an InputLayer carrying batch_shape).
#include "model_spec.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "errors.h"

namespace acts {
using json = nlohmann::json;

const char* layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::Conv2D: return "Conv2D";
    case LayerType::MaxPooling2D: return "MaxPooling2D";
    case LayerType::Flatten: return "Flatten";
    case LayerType::Dense: return "Dense";
    case LayerType::Dropout: return "Dropout";
    case LayerType::Activation: return "Activation";
  }
  return "?";
}

const char* act_name(Act a) {
  switch (a) {
    case Act::Linear: return "linear";
    case Act::Relu: return "relu";
    case Act::Sigmoid: return "sigmoid";
  }
  return "?";
}

ModelSpec tutorial_model(int image_size) {
  ModelSpec m;
  m.height = m.width = image_size;
  auto conv = [](int f) { LayerSpec l; l.type = LayerType::Conv2D; l.filters = f; l.activation = Act::Relu; return l; };
  auto pool = [] { LayerSpec l; l.type = LayerType::MaxPooling2D; return l; };
  auto dense = [](int u, Act a) { LayerSpec l; l.type = LayerType::Dense; l.units = u; l.activation = a; return l; };
  LayerSpec flat; flat.type = LayerType::Flatten;
  m.layers = {conv(32), pool(), conv(64), pool(), conv(128), pool(), conv(128), pool(),
              flat, dense(512, Act::Relu), dense(1, Act::Sigmoid)};
  return m;
}

namespace {

struct Ctx {
  const std::string& origin;
  std::string layer;  // "conv2d_1 (Conv2D)" once known
  template <typename... A>
  [[noreturn]] void bad(const A&... a) const {
    fail(origin, ": layer ", layer.empty() ? std::string("?") : layer, ": ", a...);
  }
};

Act parse_act(const json& v, const Ctx& c) {
  std::string s;
  if (v.is_null()) return Act::Linear;
  if (v.is_string()) s = v.get<std::string>();
  else if (v.is_object() && v.contains("config") && v["config"].contains("name")) s = v["config"]["name"];  // Keras 3 serialised fn
  else c.bad("activation must be a name");
  if (s == "linear" || s.empty()) return Act::Linear;
  if (s == "relu") return Act::Relu;
  if (s == "sigmoid") return Act::Sigmoid;
  c.bad("activation '", s, "' is not supported (supported: relu, sigmoid, linear)");
}

// A whole number that fits an int (Keras writes sizes as integers; 150.0 is accepted too). The
// range check comes first: converting an out-of-range number to int is undefined behaviour.
int whole(const json& v, const char* what, const Ctx& c) {
  double d = 0;
  if (v.is_number_unsigned()) d = double(v.get<uint64_t>());
  else if (v.is_number_integer()) d = double(v.get<int64_t>());
  else if (v.is_number_float()) d = v.get<double>();
  const bool number = v.is_number() && std::trunc(d) == d;
  if (!number || d < std::numeric_limits<int>::min() || d > std::numeric_limits<int>::max())
    c.bad(what, " ", v.dump(), " is not a size (a whole number up to ", std::numeric_limits<int>::max(), ")");
  return int(d);
}

int square(const json& v, const char* what, const Ctx& c) {
  if (v.is_number()) return whole(v, what, c);
  if (v.is_array() && v.size() == 2 && v[0] == v[1]) return whole(v[0], what, c);
  c.bad(what, " ", v.dump(), " is not supported (only square sizes)");
}

void expect(const json& cfg, const char* key, const json& want, const Ctx& c) {
  if (!cfg.contains(key) || cfg[key].is_null()) return;
  if (cfg[key] != want) c.bad(key, "=", cfg[key].dump(), " is not supported (only ", want.dump(), ")");
}

// Reads the input shape (H, W, C) if this layer declares one.
bool input_shape(const json& cfg, ModelSpec& m, const Ctx& c) {
  for (const char* key : {"batch_input_shape", "batch_shape"}) {
    if (!cfg.contains(key) || cfg[key].is_null()) continue;
    const json& s = cfg[key];
    if (!s.is_array() || s.size() != 4 || !s[1].is_number() || !s[2].is_number() || !s[3].is_number())
      c.bad(key, " ", s.dump(), " must be [null, height, width, channels]");
    m.height = whole(s[1], key, c);
    m.width = whole(s[2], key, c);
    m.channels = whole(s[3], key, c);
    return true;
  }
  return false;
}

}  // namespace

ModelSpec parse_keras_json(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(origin, ": not valid JSON (", e.what(), "); give the output of Keras' model.to_json()");
  }
  // value(key, json()) never throws, whatever type the member has.
  if (!j.is_object() || j.value("class_name", json()) != "Sequential")
    fail(origin, ": only Keras Sequential models are supported (class_name is ",
         j.is_object() && j.contains("class_name") ? j["class_name"].dump() : std::string("missing"), ")");
  ModelSpec m;
  m.layers.clear();
  const json& config = j["config"];
  const json* layers = nullptr;
  if (config.is_array()) layers = &config;  // Keras 2.0.x
  else if (config.is_object() && config.contains("layers")) {
    layers = &config["layers"];
    if (config.contains("name") && config["name"].is_string()) m.name = config["name"];
  }
  if (!layers || !layers->is_array() || layers->empty()) fail(origin, ": the model has no layers");
  bool have_input = false;
  try {
    for (const json& l : *layers) {
      const std::string cls = l.value("class_name", "");
      const json& cfg = l.contains("config") ? l["config"] : json::object();
      Ctx c{origin, cfg.value("name", std::string()) + " (" + cls + ")"};
      if (input_shape(cfg, m, c)) have_input = true;
      if (cls == "InputLayer") continue;
      LayerSpec s;
      s.name = cfg.value("name", std::string());
      expect(cfg, "data_format", "channels_last", c);
      if (cls == "Conv2D") {
        s.type = LayerType::Conv2D;
        s.filters = whole(cfg.at("filters"), "filters", c);
        s.kernel = square(cfg.at("kernel_size"), "kernel_size", c);
        if (square(cfg.value("strides", json(1)), "strides", c) != 1) c.bad("strides other than 1 are not supported");
        if (cfg.contains("dilation_rate") && square(cfg["dilation_rate"], "dilation_rate", c) != 1) c.bad("dilation is not supported");
        expect(cfg, "padding", "valid", c);
        expect(cfg, "groups", 1, c);
        expect(cfg, "use_bias", true, c);
        s.activation = parse_act(cfg.value("activation", json("linear")), c);
      } else if (cls == "MaxPooling2D") {
        s.type = LayerType::MaxPooling2D;
        s.pool = square(cfg.value("pool_size", json(2)), "pool_size", c);
        if (cfg.contains("strides") && !cfg["strides"].is_null() && square(cfg["strides"], "strides", c) != s.pool)
          c.bad("strides must equal pool_size");
        expect(cfg, "padding", "valid", c);
      } else if (cls == "Flatten") {
        s.type = LayerType::Flatten;
      } else if (cls == "Dense") {
        s.type = LayerType::Dense;
        s.units = whole(cfg.at("units"), "units", c);
        expect(cfg, "use_bias", true, c);
        s.activation = parse_act(cfg.value("activation", json("linear")), c);
      } else if (cls == "Dropout") {
        s.type = LayerType::Dropout;
        s.rate = cfg.at("rate");
        if (!(s.rate >= 0.f && s.rate < 1.f)) c.bad("rate must be in [0, 1)");
      } else if (cls == "Activation") {
        s.type = LayerType::Activation;
        s.activation = parse_act(cfg.at("activation"), c);
      } else {
        c.bad("layer class '", cls, "' is not supported (supported: InputLayer, Conv2D, MaxPooling2D, Flatten, Dense, Dropout, Activation)");
      }
      if ((s.type == LayerType::Conv2D && (s.filters <= 0 || s.kernel <= 0)) ||
          (s.type == LayerType::Dense && s.units <= 0) || (s.type == LayerType::MaxPooling2D && s.pool <= 0))
        c.bad("sizes must be positive");
      m.layers.push_back(s);
    }
  } catch (const json::exception& e) {
    fail(origin, ": malformed layer config (", e.what(), ")");
  }
  if (!have_input)
    fail(origin, ": no input shape (the first layer needs batch_input_shape, or an InputLayer with batch_shape)");
  if (m.layers.empty()) fail(origin, ": the model has no layers besides its input");
  return m;
}

ModelSpec load_keras_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(path, ": cannot open the model JSON file (check the path)");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_keras_json(ss.str(), path);
}

std::string to_keras_json(const ModelSpec& m) {
  json layers = json::array();
  bool first = true;
  for (const LayerSpec& s : m.layers) {
    json cfg = {{"name", s.name}, {"trainable", true}, {"dtype", "float32"}};
    if (first) cfg["batch_input_shape"] = {nullptr, m.height, m.width, m.channels};
    first = false;
    switch (s.type) {
      case LayerType::Conv2D:
        cfg.update({{"filters", s.filters}, {"kernel_size", {s.kernel, s.kernel}}, {"strides", {1, 1}},
                    {"padding", "valid"}, {"data_format", "channels_last"}, {"dilation_rate", {1, 1}},
                    {"activation", act_name(s.activation)}, {"use_bias", true}});
        break;
      case LayerType::MaxPooling2D:
        cfg.update({{"pool_size", {s.pool, s.pool}}, {"padding", "valid"}, {"strides", {s.pool, s.pool}},
                    {"data_format", "channels_last"}});
        break;
      case LayerType::Flatten: break;
      case LayerType::Dense:
        cfg.update({{"units", s.units}, {"activation", act_name(s.activation)}, {"use_bias", true}});
        break;
      case LayerType::Dropout: cfg["rate"] = s.rate; break;
      case LayerType::Activation: cfg["activation"] = act_name(s.activation); break;
    }
    layers.push_back({{"class_name", layer_type_name(s.type)}, {"config", cfg}});
  }
  json j = {{"class_name", "Sequential"}, {"config", {{"name", m.name}, {"layers", layers}}},
            {"keras_version", "2.2.4"}, {"backend", "tensorflow"}};
  return j.dump();
}

}  // namespace acts
