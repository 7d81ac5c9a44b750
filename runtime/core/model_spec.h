// The model description: a Keras Sequential model restricted to the layers this project runs.
// Parsed from (and written back to) Keras' own model JSON, Keras 2 and Keras 3 layouts, by the
// ops of runtime/ops (each op reads and writes its own layer's config).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace acts {

// One value per line of runtime/ops/ops.def, named as Keras names the layer class.
enum class LayerType {
#define ACTS_OP(keras_class, folder) keras_class,
#include "runtime/ops/ops.def"
#undef ACTS_OP
};
// Softmax runs over the last axis (Keras' default axis=-1): the classes of a Dense head, the
// channels of a Conv2D.
enum class Act { Linear, Relu, Sigmoid, Tanh, Softmax };
// Keras' padding modes. 'same' pads (k - 1) in total when the stride is 1, and more generally
// whatever makes the output ceil(in / stride); an odd total puts the extra row/column at the
// bottom/right (TensorFlow's rule), which cuDNN's symmetric padding cannot express alone.
enum class Padding { Valid, Same };

const char* layer_type_name(LayerType t);  // "Conv2D", ... as Keras names the class
const char* act_name(Act a);                // "linear", "relu", "sigmoid", "tanh", "softmax"

// One layer's Keras configuration. The named fields are the hyperparameters several everyday
// layers share; `attrs` holds those one op alone has (by Keras' config key, e.g. BatchNormalization's
// "momentum"), so a new op adds no field here.
struct LayerSpec {
  LayerType type = LayerType::Dense;
  std::string name;          // empty: Keras 2.0.8's default name is given by the graph
  Act activation = Act::Linear;
  int filters = 0;           // Conv2D
  int kernel = 3;            // Conv2D: square kernel
  int pool = 2;              // MaxPooling2D, AveragePooling2D: square pool (stride: attrs["strides"])
  int stride = 1;            // Conv2D (pooling: the pool)
  Padding padding = Padding::Valid;
  int units = 0;             // Dense
  float rate = 0.f;          // Dropout
  std::map<std::string, double> attrs;
};

// Keras' per-layer `trainable` flag, kept in attrs["trainable"] (0) only when it is false.
inline bool is_trainable(const LayerSpec& s) {
  const auto it = s.attrs.find("trainable");
  return it == s.attrs.end() || it->second != 0;
}

struct ModelSpec {
  std::string name = "sequential_1";
  int height = 150, width = 150, channels = 3;  // input, channels_last
  std::vector<LayerSpec> layers;
};

// The tutorial's model: Conv2D 32/64/128/128 + MaxPooling2D, Flatten, Dense 512 relu, Dense 1 sigmoid.
ModelSpec tutorial_model(int image_size = 150);

// Parses Keras' model.to_json() text. `origin` (a file name) is used in error messages only.
// Throws acts::Error naming any unsupported layer or option.
ModelSpec parse_keras_json(const std::string& text, const std::string& origin = "model JSON");
ModelSpec load_keras_json(const std::string& path);

// Layer names become file names (dump_acts' NAME.npy, NAME.png). The rule is TensorFlow's
// op-name rule, ^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$ (what tf.keras enforced), without '/', which
// Keras 3 refuses in names; a name of dots only is refused too. No such name can leave a folder.
constexpr const char* kLayerNameRule = "^[A-Za-z0-9.][A-Za-z0-9_.>-]*$, not only dots";
bool is_valid_layer_name(const std::string& name);

// Writes Keras 2 style model JSON (with the layer names the graph resolved).
std::string to_keras_json(const ModelSpec& spec);

}  // namespace acts
