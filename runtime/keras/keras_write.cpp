// Writing a Checkpoint as Keras files Keras' own load_model opens: the Keras 2 HDF5 layout for
// .h5 (Keras 2 and Keras 3 both load it) and the Keras 3 archive for .keras. Both are built in
// memory and reach the disk in one atomic rename (runtime/core/atomic_file.h).
#include <ctime>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/keras/hdf5_file.h"
#include "runtime/keras/keras_file.h"
#include "runtime/keras/zip_archive.h"
#include "runtime/ops/op.h"

namespace acts {
using json = nlohmann::json;
namespace {

// The versions whose layouts these files follow (and which tests/keras loads them with).
constexpr const char* kKeras2Version = "2.2.4";  // as to_keras_json's model JSON says
constexpr const char* kKeras3Version = "3.15.1";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The model JSON as tf.keras 2.x writes it into .h5 files: an InputLayer first, carrying the
// input shape (Keras 3 reads a batch_input_shape on the first Conv2D as a 5-D input).
std::string keras2_config(const Graph& g) {
  json j = json::parse(to_keras_json(g.spec()));
  json& layers = j["config"]["layers"];
  json input = {{"class_name", "InputLayer"},
                {"config", {{"batch_input_shape", layers[0]["config"]["batch_input_shape"]}, {"dtype", "float32"},
                            {"sparse", false}, {"ragged", false}, {"name", "input_1"}}}};
  layers[0]["config"].erase("batch_input_shape");
  layers.insert(layers.begin(), input);
  return j.dump();
}

// Keras 2 HDF5: /@model_config, /model_weights/<layer>/<layer>/kernel:0 with @weight_names.
std::string keras2_h5(const Graph& g, const std::vector<float>& params, const std::string& path) {
  const H5File f = H5File::create_in_memory(path);
  const H5Group root = f.root();
  root.set_string_attr("keras_version", kKeras2Version);
  root.set_string_attr("backend", "tensorflow");
  root.set_string_attr("model_config", keras2_config(g));
  const H5Group mw = root.create_group("model_weights");
  std::vector<std::string> layer_names;
  for (const Node& n : g.nodes()) layer_names.push_back(n.spec.name);
  mw.set_string_list_attr("layer_names", layer_names);
  mw.set_string_attr("backend", "tensorflow");
  mw.set_string_attr("keras_version", kKeras2Version);
  for (const Node& n : g.nodes()) {
    const H5Group lg = mw.create_group(n.spec.name);
    std::vector<std::string> names;
    for (int i : n.params) {
      const ParamRef& p = g.params()[size_t(i)];
      names.push_back(p.name + ":0");  // "conv2d_1/kernel:0"
      lg.write_tensor(names.back(), p.shape, params.data() + p.offset);
    }
    lg.set_string_list_attr("weight_names", names);
  }
  return f.image();
}

// Keras 3's config.json: the model JSON's layers with module names, after an InputLayer. The
// InputLayer's shape is "batch_input_shape", not Keras 3's own "batch_shape": Keras 3 takes both,
// tf-keras 2.x only the first, so tf-keras loads our .keras files (it refuses Keras 3's own).
std::string keras3_config(const Graph& g) {
  const json k2 = json::parse(to_keras_json(g.spec()));
  const ModelSpec& s = g.spec();
  const json shape = {nullptr, s.height, s.width, s.channels};
  json layers = json::array();
  layers.push_back({{"module", "keras.layers"}, {"class_name", "InputLayer"},
                    {"config",
                     {{"batch_input_shape", shape}, {"dtype", "float32"}, {"sparse", false}, {"name", "input_layer"}}},
                    {"registered_name", nullptr}});
  for (json l : k2["config"]["layers"]) {
    l["config"].erase("batch_input_shape");
    layers.push_back({{"module", "keras.layers"}, {"class_name", l["class_name"]}, {"config", l["config"]},
                      {"registered_name", nullptr}});
  }
  const json j = {{"module", "keras"}, {"class_name", "Sequential"},
                  {"config", {{"name", s.name}, {"trainable", true}, {"dtype", "float32"}, {"layers", layers}}},
                  {"registered_name", nullptr}, {"build_config", {{"input_shape", shape}}}};
  return j.dump();
}

// Keras 3 weights: layers/<class_snake[_k]>/vars/<i>, every layer a group, and an empty /vars.
std::string keras3_weights(const Graph& g, const std::vector<float>& params, const std::string& name) {
  const H5File f = H5File::create_in_memory(name);
  const H5Group root = f.root();
  std::map<std::string, int> seen;
  for (const Node& n : g.nodes()) {
    const std::string prefix = op_of(n.spec.type).name_prefix();
    const int k = seen[prefix]++;
    const H5Group vars = root.create_group("layers/" + prefix + (k ? "_" + std::to_string(k) : "") + "/vars");
    for (size_t i = 0; i < n.params.size(); ++i) {
      const ParamRef& p = g.params()[size_t(n.params[i])];
      vars.write_tensor(std::to_string(i), p.shape, params.data() + p.offset);
    }
  }
  root.create_group("vars");
  return f.image();
}

std::string keras3_archive(const Graph& g, const std::vector<float>& params, const std::string& path) {
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%Y-%m-%d@%H:%M:%S", &tm);
  const json meta = {{"keras_version", kKeras3Version}, {"date_saved", date}};
  return make_zip({{"metadata.json", meta.dump()},
                   {"config.json", keras3_config(g)},
                   {"model.weights.h5", keras3_weights(g, params, path + ": model.weights.h5")}},
                  path);
}

}  // namespace

void save_keras_model(const std::string& path, const Checkpoint& c) {
  const Graph g(c.model);
  if (c.params.size() != g.param_count()) fail(path, ": internal: the checkpoint's parameters do not fit its model");
  std::string bytes;
  if (ends_with(path, ".keras")) bytes = keras3_archive(g, c.params, path);
  else if (ends_with(path, ".weights.h5")) bytes = keras3_weights(g, c.params, path);  // Keras 3 load_weights()
  else if (ends_with(path, ".h5")) bytes = keras2_h5(g, c.params, path);
  else fail(path, ": name the file .keras (Keras 3), .h5 (Keras 2 HDF5) or .weights.h5 (Keras 3 weights only)");
  write_file_atomic(path, bytes);
}

}  // namespace acts
