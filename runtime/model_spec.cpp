// Keras model JSON <-> ModelSpec. Accepts Keras 2.0.x (config is the layer list), Keras 2.2+
// (config.layers) and Keras 3 (config.layers with an InputLayer carrying batch_shape).
#include "model_spec.h"

#include <climits>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "errors.h"
#include "regular_file.h"

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

bool is_valid_layer_name(const std::string& name) {
  auto alnum = [](char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  if (name.empty() || !(alnum(name[0]) || name[0] == '.')) return false;
  bool only_dots = true;
  for (const char ch : name) {
    if (!(alnum(ch) || ch == '_' || ch == '.' || ch == '>' || ch == '-')) return false;
    only_dots = only_dots && ch == '.';
  }
  return !only_dots;
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

// A size of at least 1 that fits an int (Keras writes sizes as integers; 150.0 is accepted too).
// The range is checked before any conversion to int: converting an out-of-range number is
// undefined behaviour (2^31 units came out negative; fuzzing found 1e30 filters going on).
int positive_int(const json& v, const std::string& what, const Ctx& c) {
  double d = 0;
  if (v.is_number_unsigned())
    d = double(v.get<uint64_t>());
  else if (v.is_number_integer())
    d = double(v.get<int64_t>());
  else if (v.is_number_float())
    d = v.get<double>();
  if (!v.is_number() || std::trunc(d) != d) c.bad(what, " ", v.dump(), " must be a whole number");
  if (d > INT_MAX) c.bad(what, " ", v.dump(), " is too large (at most ", INT_MAX, ")");
  if (d < 1) c.bad(what, " ", v.dump(), " must be positive");
  return int(d);
}

int square(const json& v, const char* what, const Ctx& c) {
  if (v.is_number()) return positive_int(v, what, c);
  if (v.is_array() && v.size() == 2 && v[0] == v[1]) return positive_int(v[0], what, c);
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
    const std::string at = std::string(key) + " " + s.dump() + ": ";
    m.height = positive_int(s[1], at + "height", c);
    m.width = positive_int(s[2], at + "width", c);
    m.channels = positive_int(s[3], at + "channels", c);
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
    int index = 0;
    for (const json& l : *layers) {
      ++index;
      const std::string cls = l.value("class_name", "");
      const json& cfg = l.contains("config") ? l["config"] : json::object();
      // The name comes first: the messages below quote it, and dump_acts makes files of it.
      const std::string where = std::to_string(index) + " (" + cls + ")";
      if (cfg.contains("name") && !cfg["name"].is_string())
        fail(origin, ": layer ", where, ": name must be a string, not ", cfg["name"].dump());
      const std::string name = cfg.value("name", std::string());
      if (!name.empty() && !is_valid_layer_name(name))
        fail(origin, ": layer ", where, ": name ", json(name).dump(), " is not a valid layer name (letters, digits "
             "and . _ - >, starting with a letter, digit or dot, not only dots); rename it in the JSON");
      Ctx c{origin, name + " (" + cls + ")"};
      if (input_shape(cfg, m, c)) have_input = true;
      if (cls == "InputLayer") continue;
      LayerSpec s;
      s.name = name;
      expect(cfg, "data_format", "channels_last", c);
      if (cls == "Conv2D") {
        s.type = LayerType::Conv2D;
        s.filters = positive_int(cfg.at("filters"), "filters", c);
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
        s.units = positive_int(cfg.at("units"), "units", c);
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
    std::string why = e.what();  // without the library's "[json.exception.type_error.302] "
    if (why.rfind("[json.exception.", 0) == 0 && why.find("] ") != std::string::npos) why.erase(0, why.find("] ") + 2);
    fail(origin, ": malformed layer config (", why, ")");
  }
  if (!have_input)
    fail(origin, ": no input shape (the first layer needs batch_input_shape, or an InputLayer with batch_shape)");
  if (m.layers.empty()) fail(origin, ": the model has no layers besides its input");
  return m;
}

ModelSpec load_keras_json(const std::string& path) {
  std::string text, why;
  if (!read_regular_file(path, text, why)) {
    if (!special_file_kind(path).empty())
      fail(path, ": ", why, "; pass --model a Keras model JSON file (model.to_json())");
    fail(path, ": cannot open the model JSON file (check the path)");
  }
  return parse_keras_json(text, path);
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
