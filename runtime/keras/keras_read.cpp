// Reading Keras' files into a Checkpoint. The layouts, as Keras writes them (checked against
// files of Keras 2.0.8 (h5py fixture), tf-keras 2.21 and Keras 3.15 by tests/keras):
//   HDF5 full model   /@model_config (JSON), /@training_config, /model_weights/@layer_names,
//                     /model_weights/<layer>/@weight_names, the tensors at
//                     /model_weights/<layer>/<weight name> ("conv2d_1/kernel:0" in Keras 2,
//                     "sequential/conv2d/kernel" in Keras 3), /optimizer_weights/@weight_names
//   Keras 2 weights   the same layer groups at the root (save_weights('x.h5'))
//   Keras 3 weights   /layers/<class_snake[_k]>/vars/0, 1, ... in layer order, the k-th layer of
//                     a class named by class and k, not by the layer's name; /optimizer/vars/...
//   .keras            zip of config.json, metadata.json and model.weights.h5 (Keras 3 weights)
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/core/regular_file.h"
#include "runtime/keras/hdf5_file.h"
#include "runtime/keras/keras_file.h"
#include "runtime/keras/keras_optimizer.h"
#include "runtime/keras/zip_archive.h"
#include "runtime/ops/op.h"

namespace acts {
using json = nlohmann::json;
namespace {

std::string shape_text(const std::vector<int>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// One tensor of the file (`group`/`rel`) into the parameter vector, refused when its shape is not
// the model's: from its header, before anything is read (a header can claim 2^32 values).
void put(const H5Group& group, const std::string& rel, const ParamRef& p, const std::string& origin,
         const std::string& layer, const std::string& weight, std::vector<float>& params) {
  const std::vector<int> shape = group.tensor_shape(rel);
  if (shape != p.shape)
    fail(origin, ": layer ", layer, ": weight ", weight, " has shape ", shape_text(shape), " but the model config "
         "makes it ", shape_text(p.shape), "; the weights do not belong to this architecture");
  const H5Tensor t = group.tensor(rel, false, p.size);
  std::copy(t.data.begin(), t.data.end(), params.begin() + long(p.offset));
}

// Keras 2 layout: a group per layer, named as the layer, listing its tensors in @weight_names.
std::vector<float> read_layer_groups(const H5Group& weights, const Graph& g, const std::string& origin) {
  std::vector<float> params(g.param_count());
  for (const Node& n : g.nodes()) {
    if (n.params.empty()) continue;
    const std::string& name = n.spec.name;
    const std::string layer = name + " (" + layer_type_name(n.spec.type) + ")";
    if (!weights.has_group(name))
      fail(origin, ": has no weights for layer ", layer, "; the weights and the model config do not match");
    const H5Group lg = weights.group(name);
    const std::vector<std::string> names = lg.string_list_attr("weight_names");
    if (names.size() != n.params.size())
      fail(origin, ": layer ", layer, " has ", names.size(), " weight tensors but the model config gives it ",
           n.params.size(), "; the weights do not belong to this architecture");
    for (size_t i = 0; i < names.size(); ++i)
      put(lg, names[i], g.params()[size_t(n.params[i])], origin, layer, names[i], params);
  }
  return params;
}

// Keras 3 layout: layers/<prefix>[_k]/vars/<i>, counted per layer class in model order.
std::vector<float> read_layer_vars(const H5Group& root, const Graph& g, const std::string& origin) {
  std::vector<float> params(g.param_count());
  std::map<std::string, int> seen;
  for (const Node& n : g.nodes()) {
    const std::string prefix = op_of(n.spec.type).name_prefix();
    const int k = seen[prefix]++;
    const std::string path = "layers/" + prefix + (k ? "_" + std::to_string(k) : "") + "/vars";
    const std::string layer = n.spec.name + " (" + layer_type_name(n.spec.type) + ")";
    if (n.params.empty()) continue;
    if (!root.has_group(path))
      fail(origin, ": has no ", path, " for layer ", layer, "; the weights and the model config do not match");
    const H5Group vars = root.group(path);
    if (vars.size() != n.params.size())
      fail(origin, ": layer ", layer, " has ", vars.size(), " weight tensors but the model config gives it ",
           n.params.size(), "; the weights do not belong to this architecture");
    for (size_t i = 0; i < n.params.size(); ++i)
      put(vars, std::to_string(i), g.params()[size_t(n.params[i])], origin, layer, path + "/" + std::to_string(i),
          params);
  }
  return params;
}

// The model config parsed, and its graph built; shape errors name the file.
Graph build(KerasModel& m, const std::string& config_text, const std::string& origin) {
  m.ckpt.model = parse_keras_json(config_text, origin);
  try {
    return Graph(m.ckpt.model);
  } catch (const Error& e) {
    fail(origin, ": ", e.what());
  }
}

std::string architecture_for_weights(const std::string& path, const KerasReadOptions& o, const char* kind) {
  if (o.config_json.empty())
    fail(path, ": holds weights only (", kind, "); pass --config MODEL.json, the model's architecture "
         "(model.to_json())");
  std::string text, why;
  if (!read_regular_file(o.config_json, text, why)) fail(o.config_json, ": ", why, "; pass --config a model JSON file");
  return text;
}

json parse_json_or_empty(const std::string& text) { return json::parse(text, nullptr, false); }

// The optimizer tensors of an HDF5 full-model file, in @weight_names order; none can be larger
// than the model (`g`) has parameters.
std::vector<H5Tensor> h5_optimizer_tensors(const H5Group& root, const Graph& g, std::vector<std::string>& names) {
  std::vector<H5Tensor> out;
  if (!root.has_group("optimizer_weights")) return out;
  const H5Group og = root.group("optimizer_weights");
  names = og.string_list_attr("weight_names");
  for (const std::string& name : names) out.push_back(og.tensor(name, true, g.param_count()));
  return out;
}

// Keras 3's optimizer/vars/0.. (iteration, learning rate, then one tensor per variable a slot).
std::vector<H5Tensor> v3_optimizer_tensors(const H5Group& root, const Graph& g, std::string& name) {
  std::vector<H5Tensor> out;
  if (!root.has_group("optimizer/vars")) return out;
  const H5Group vars = root.group("optimizer/vars");
  if (vars.has_attr("name")) name = vars.string_attr("name");
  for (size_t i = 0; i < vars.size(); ++i) out.push_back(vars.tensor(std::to_string(i), true, g.param_count()));
  return out;
}

// The loss a Keras file was compiled with: a name ("binary_crossentropy") or a serialised loss
// object, whose config names it the same way; a model with several outputs (a list or a dict of
// losses) names none that train_gpu could use, nor does a name that is not an identifier (it is
// printed: no control characters from a file reach the terminal). Arguments that change the loss
// are noted.
void read_compiled_loss(const json& loss, KerasModel& m) {
  const auto identifier = [](const std::string& s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](char ch) { return std::isalnum((unsigned char)ch) || ch == '_'; });
  };
  if (loss.is_string()) {
    if (identifier(loss.get<std::string>())) m.loss = loss.get<std::string>();
    return;
  }
  if (!loss.is_object() || !loss.contains("config") || !loss["config"].is_object()) return;
  const json& c = loss["config"];
  if (c.contains("name") && c["name"].is_string()) m.loss = c["name"].get<std::string>();
  else if (loss.contains("class_name") && loss["class_name"].is_string()) m.loss = loss["class_name"].get<std::string>();
  if (!identifier(m.loss)) {
    m.loss.clear();
    return;
  }
  if (c.value("from_logits", json(false)) == json(true)) m.loss_args = "from_logits=True";
  if (c.contains("label_smoothing") && c["label_smoothing"].is_number() && c["label_smoothing"].get<double>() != 0)
    m.loss_args += (m.loss_args.empty() ? "" : ", ") + std::string("label_smoothing=") + c["label_smoothing"].dump();
}

KerasModel read_hdf5(const std::string& path, const KerasReadOptions& o) {
  KerasModel m;
  const H5File f = H5File::open(path);
  const H5Group root = f.root();
  const std::string version = root.has_attr("keras_version") ? root.string_attr("keras_version") : "unknown";
  if (root.has_attr("model_config")) {
    if (!o.config_json.empty())
      fail("--config ", o.config_json, ": ", path, " is a full-model file with its own architecture; drop --config");
    const Graph g = build(m, root.string_attr("model_config"), path + " (model_config)");
    m.format = std::string(version.rfind("3.", 0) == 0 ? "Keras 3 legacy HDF5" : "Keras 2 HDF5") + " (keras " +
               version + ")";
    m.ckpt.params = read_layer_groups(root.group("model_weights"), g, path);
    OptimizerSource src;
    if (root.has_attr("training_config")) {
      const json tc = parse_json_or_empty(root.string_attr("training_config"));
      if (tc.is_object() && tc.contains("optimizer_config")) src.config = tc["optimizer_config"];
      if (tc.is_object() && tc.contains("loss")) read_compiled_loss(tc["loss"], m);
    }
    src.tensors = h5_optimizer_tensors(root, g, src.names);
    import_optimizer(src, g, m);
  } else if (root.has_attr("layer_names") || root.has_attr("layer_names0")) {
    const Graph g = build(m, architecture_for_weights(path, o, "Keras 2 save_weights"), o.config_json);
    m.format = "Keras 2 weights (keras " + version + ") with " + o.config_json;
    m.ckpt.params = read_layer_groups(root, g, path);
    import_optimizer(OptimizerSource{}, g, m);
  } else if (root.has_group("layers")) {
    const Graph g = build(m, architecture_for_weights(path, o, "Keras 3 .weights.h5"), o.config_json);
    m.format = "Keras 3 weights with " + o.config_json;
    m.ckpt.params = read_layer_vars(root, g, path);
    import_optimizer(OptimizerSource{}, g, m);
  } else {
    fail(path, ": an HDF5 file, but not one Keras wrote (no model_config, layer_names or layers/); give a file saved "
         "by Keras' model.save() or save_weights()");
  }
  return m;
}

KerasModel read_keras_zip(const std::string& path, const KerasReadOptions& o) {
  if (!o.config_json.empty())
    fail("--config ", o.config_json, ": ", path, " is a .keras file with its own architecture; drop --config");
  KerasModel m;
  const ZipReader z(path);
  const json meta = z.has("metadata.json") ? parse_json_or_empty(z.read("metadata.json", 1 << 20)) : json();
  const std::string version = meta.is_object() && meta.value("keras_version", json()).is_string()
                                  ? meta["keras_version"].get<std::string>() : "unknown";
  const std::string config = z.read("config.json", size_t(1) << 26);
  if (!z.has("model.weights.h5"))
    fail(path, ": has no model.weights.h5", z.has("model.weights.json") ? " (its weights are sharded, which is not "
         "supported; save it again without max_shard_size)" : " (not a Keras 3 .keras file, or damaged); give a "
         ".keras file Keras saved");
  const Graph g = build(m, config, path + ": config.json");
  m.format = "Keras 3 .keras (keras " + version + ")";
  // At most the weights and three optimizer slots of the same size (Adam with amsgrad), 4 bytes
  // each, and room for HDF5's headers: a size claimed beyond that is refused before it is read.
  const size_t most = 16 * g.param_count() + (size_t(64) << 20);
  const H5File f = H5File::open_image(z.read("model.weights.h5", most), path + ": model.weights.h5");
  m.ckpt.params = read_layer_vars(f.root(), g, path + ": model.weights.h5");
  OptimizerSource src;
  const json cfg = parse_json_or_empty(config);
  if (cfg.is_object() && cfg.contains("compile_config") && cfg["compile_config"].is_object()) {
    const json& cc = cfg["compile_config"];
    if (cc.contains("optimizer")) src.config = cc["optimizer"];
    if (cc.contains("loss")) read_compiled_loss(cc["loss"], m);
  }
  src.tensors = v3_optimizer_tensors(f.root(), g, src.name);
  import_optimizer(src, g, m);
  return m;
}

std::string first_bytes(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string b(n, '\0');
  in.read(b.data(), std::streamsize(n));
  b.resize(size_t(in.gcount()));
  return b;
}

}  // namespace

KerasModel load_keras_model(const std::string& path, const KerasReadOptions& o) {
  KerasModel m;
  try {
    // What the path is, before anything opens it: a FIFO would block, a folder opens and reads
    // as nothing.
    if (const std::string kind = special_file_kind(path); !kind.empty())
      fail(path, ": is ", kind, ", not a regular file; give a Keras .h5 or .keras file");
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      fail(path, ": is a folder, not a file; give a Keras .h5 or .keras file");
    const std::string b = first_bytes(path, 8);
    if (b.empty() && !std::ifstream(path)) fail(path, ": cannot open the file (check the path)");
    if (b.empty()) fail(path, ": is empty; give a Keras .h5 or .keras file saved by Keras' model.save()");
    if (looks_like_hdf5(b)) m = read_hdf5(path, o);
    else if (looks_like_zip(b)) m = read_keras_zip(path, o);
    else fail(path, ": not a Keras model file (neither HDF5 nor a .keras zip archive); give a file saved by Keras' "
              "model.save()");
  } catch (const Error& e) {
    throw BadFile(e.what());
  }
  m.ckpt.meta["source"] = path;
  m.ckpt.meta["source_format"] = m.format;
  return m;
}

}  // namespace acts
