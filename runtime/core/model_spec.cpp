// Keras model JSON <-> ModelSpec. Accepts Keras 2.0.x (config is the layer list), Keras 2.2+
// (config.layers) and Keras 3 (config.layers with an InputLayer carrying batch_shape).
#include "runtime/core/model_spec.h"

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/core/errors.h"
#include "runtime/core/regular_file.h"
#include "runtime/ops/op.h"

namespace acts {
using json = nlohmann::json;

const char* layer_type_name(LayerType t) { return op_of(t).keras_class(); }

const char* act_name(Act a) {
  switch (a) {
    case Act::Linear: return "linear";
    case Act::Relu: return "relu";
    case Act::Sigmoid: return "sigmoid";
    case Act::Tanh: return "tanh";
    case Act::Softmax: return "softmax";
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

// Reads the input shape (H, W, C) if this layer declares one.
bool input_shape(const json& cfg, ModelSpec& m, const KerasConfig& c) {
  for (const char* key : {"batch_input_shape", "batch_shape"}) {
    if (!cfg.contains(key) || cfg[key].is_null()) continue;
    const json& s = cfg[key];
    if (!s.is_array() || s.size() != 4 || !s[1].is_number() || !s[2].is_number() || !s[3].is_number())
      c.bad(key, " ", s.dump(), " must be [null, height, width, channels]");
    const std::string at = std::string(key) + " " + s.dump() + ": ";
    m.height = c.positive_int(s[1], at + "height");
    m.width = c.positive_int(s[2], at + "width");
    m.channels = c.positive_int(s[3], at + "channels");
    return true;
  }
  return false;
}

// One entry of the model's layer list: its name first (the messages quote it, and dump_acts makes
// files of it), the input shape it may declare, then its op's own config. An InputLayer adds no
// layer.
void parse_layer(const json& l, int index, const std::string& origin, ModelSpec& m, bool& have_input, int depth = 0) {
  const std::string cls = l.value("class_name", "");
  const json& cfg = l.contains("config") ? l["config"] : json::object();
  const std::string where = std::to_string(index) + " (" + cls + ")";
  if (cfg.contains("name") && !cfg["name"].is_string())
    fail(origin, ": layer ", where, ": name must be a string, not ", cfg["name"].dump());
  const std::string name = cfg.value("name", std::string());
  if (!name.empty() && !is_valid_layer_name(name))
    fail(origin, ": layer ", where, ": name ", json(name).dump(), " is not a valid layer name (letters, digits "
         "and . _ - >, starting with a letter, digit or dot, not only dots); rename it in the JSON");
  KerasConfig c{origin, name + " (" + cls + ")"};
  if (cls == "Sequential") {  // a model used as a layer (the second edition's data_augmentation): its layers, in line
    const json& inner = cfg.contains("layers") ? cfg["layers"] : json();
    if (!inner.is_array()) c.bad("a nested Sequential model without a layer list");
    if (depth >= 4) c.bad("Sequential models nested over 4 deep are not supported; flatten the model");
    // Keras files keep a nested model's weights under its own name (layers/sequential/layers/...),
    // which the readers do not follow: only weightless preprocessing layers may be nested.
    static const std::set<std::string> preprocessing = {"InputLayer", "Sequential", "Rescaling", "RandomFlip",
                                                        "RandomRotation", "RandomZoom", "RandomTranslation"};
    int k = 0;
    for (const json& l2 : inner) {
      const std::string inner_cls = l2.is_object() ? l2.value("class_name", "") : "";
      if (!preprocessing.count(inner_cls))
        c.bad("a nested Sequential model holds a ", inner_cls.empty() ? "?" : inner_cls, " layer; only preprocessing "
              "layers (Rescaling, RandomFlip, RandomRotation, RandomZoom, RandomTranslation) may be nested: put the "
              "others in the outer model");
      parse_layer(l2, ++k, origin, m, have_input, depth + 1);
    }
    return;
  }
  if (input_shape(cfg, m, c)) have_input = true;
  if (cls == "InputLayer") return;
  c.expect(cfg, "data_format", "channels_last");
  const Op* op = op_by_keras_class(cls);
  if (!op) c.bad("layer class '", cls, "' is not supported (supported: InputLayer, ", keras_classes(), ")");
  LayerSpec s;
  s.type = op->type();
  s.name = name;
  op->parse(cfg, s, c);
  if (cfg.contains("trainable") && cfg["trainable"] == false) s.attrs["trainable"] = 0;
  m.layers.push_back(s);
}

// The layer names a Functional layer takes its input from: Keras 3's inbound_nodes
// ([{"args": [{"config": {"keras_history": [name, 0, 0]}}]}]) or Keras 2's ([[[name, 0, 0, {}]]]).
std::vector<std::string> inbound_names(const json& l) {
  std::vector<std::string> names;
  const json nodes = l.value("inbound_nodes", json::array());
  if (!nodes.is_array()) return {"?"};
  for (const json& node : nodes) {
    if (node.is_object()) {
      for (const json& arg : node.value("args", json::array())) {
        const json history = arg.is_object() && arg.value("config", json()).is_object()
                                 ? arg["config"].value("keras_history", json()) : json();
        names.push_back(history.is_array() && !history.empty() && history[0].is_string() ? history[0].get<std::string>()
                                                                                          : "?");
      }
    } else if (node.is_array()) {
      for (const json& t : node) names.push_back(t.is_array() && !t.empty() && t[0].is_string() ? t[0].get<std::string>() : "?");
    } else {
      names.push_back("?");
    }
  }
  return names;
}

// A Functional model this project runs is a chain: one input, every layer fed by the one before
// it alone, the last layer the output. Anything else (several inputs or outputs, a branch, a
// skip connection) is refused naming the first layer that breaks the chain.
void check_single_chain(const json& config, const std::string& origin) {
  const json& layers = config.is_object() ? config.value("layers", json()) : json();
  if (!layers.is_array() || layers.empty()) fail(origin, ": the model has no layers");
  auto count = [](const json& io) {  // [name, 0, 0] (one, Keras 3) or [[name, 0, 0], ...]
    if (!io.is_array() || io.empty()) return size_t(0);
    return io[0].is_string() ? size_t(1) : io.size();
  };
  if (count(config.value("input_layers", json())) != 1 || count(config.value("output_layers", json())) != 1)
    fail(origin, ": a Functional model with ", count(config.value("input_layers", json())), " inputs and ",
         count(config.value("output_layers", json())), " outputs; only single-chain models (one input, one "
         "output, each layer fed by the one before) are supported");
  std::string before;
  for (const json& l : layers) {
    const std::string name = l.is_object() && l.value("name", json()).is_string() ? l["name"].get<std::string>()
                                                                                   : "?";
    const std::vector<std::string> in = inbound_names(l);
    const bool first = before.empty();
    if (first ? !in.empty() : (in.size() != 1 || in[0] != before))
      fail(origin, ": layer ", name, " takes ", in.empty() ? std::string("no input") : json(in).dump(),
           first ? "" : std::string(", not only the layer before it (") + before + ")",
           "; only single-chain Functional models are supported (one input, each layer fed by the one before)");
    before = name;
  }
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
  const json cls = j.is_object() ? j.value("class_name", json()) : json();
  const bool functional = cls == "Functional" || cls == "Model";
  if (cls != "Sequential" && !functional)
    fail(origin, ": only Keras Sequential models and single-chain Functional models are supported (class_name is ",
         j.is_object() && j.contains("class_name") ? j["class_name"].dump() : std::string("missing"),
         "); build the model as keras.Sequential([...]) and save it again");
  if (functional) check_single_chain(j.value("config", json()), origin);
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
    for (const json& l : *layers) parse_layer(l, ++index, origin, m, have_input);
  } catch (const json::exception& e) {
    std::string why = e.what();  // without the library's "[json.exception.type_error.302] "
    if (why.rfind("[json.exception.", 0) == 0 && why.find("] ") != std::string::npos) why.erase(0, why.find("] ") + 2);
    fail(origin, ": malformed layer config (", why, ")");
  }
  // A Sequential model built with model.build(shape) rather than an Input says it only here.
  if (!have_input && config.is_object() && config.contains("build_input_shape") &&
      !config["build_input_shape"].is_null()) {
    const KerasConfig c{origin, "(model)"};
    have_input = input_shape(json{{"batch_shape", config["build_input_shape"]}}, m, c);
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
    json cfg = {{"name", s.name}, {"trainable", is_trainable(s)}, {"dtype", "float32"}};
    if (first) cfg["batch_input_shape"] = {nullptr, m.height, m.width, m.channels};
    first = false;
    op_of(s.type).write(s, cfg);
    layers.push_back({{"class_name", layer_type_name(s.type)}, {"config", cfg}});
  }
  json j = {{"class_name", "Sequential"}, {"config", {{"name", m.name}, {"layers", layers}}},
            {"keras_version", "2.2.4"}, {"backend", "tensorflow"}};
  return j.dump();
}

}  // namespace acts
