#include "runtime/core/graph.h"
#include "runtime/core/head.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "runtime/core/errors.h"
#include "runtime/ops/op.h"

namespace acts {

namespace {

// Largest element count of one tensor and of all parameters together (2^40 floats, 4 TiB): far
// beyond any model that runs, small enough that byte counts never overflow.
constexpr int64_t kMaxCount = int64_t(1) << 40;

std::string default_name(LayerType t, std::map<LayerType, int>& counters) {
  return std::string(op_of(t).name_prefix()) + "_" + std::to_string(++counters[t]);
}

std::string with_commas(size_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

// Keras 2.0.8 print_row: each field is cut at its column stop, and the character before the
// next field is forced to a space.
void print_row(std::ostringstream& os, const std::vector<std::string>& fields) {
  static const int stops[] = {29, 55, 65};
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line = line.substr(0, line.size() - 1) + " ";
    line += fields[i];
    line = line.substr(0, size_t(stops[i]));
    line += std::string(size_t(stops[i]) - line.size(), ' ');
  }
  os << line << "\n";
}

}  // namespace

std::string keras_shape(const std::vector<int>& s) {
  std::string out = "(None";
  for (int d : s) out += ", " + std::to_string(d);
  return out + ")";
}

int64_t NodeShapes::count(const std::vector<int>& dims, const char* what) const {
  int64_t count = 1;
  for (int d : dims)
    if (__builtin_mul_overflow(count, int64_t(d), &count) || count > kMaxCount)
      fail(what, " has over 2^40 elements; use smaller layers or a smaller --image-size");
  return count;
}

bool NodeShapes::after_weights() const { return graph_.param_count_ > 0; }

int NodeShapes::add_param(const std::string& suffix, std::vector<int> shape, bool trainable, ParamInit init) {
  ParamRef p{node_.spec.name + "/" + suffix, shape, graph_.param_count_, size_t(count(shape, "the parameter tensor")),
             trainable && is_trainable(node_.spec), init};  // a frozen Keras layer's tensors count as non-trainable
  if (graph_.param_count_ + p.size > size_t(kMaxCount)) fail("the model has over 2^40 parameters; use smaller layers");
  graph_.param_count_ += p.size;
  node_.param_count += p.size;
  graph_.params_.push_back(p);
  const int index = int(graph_.params_.size()) - 1;
  node_.params.push_back(index);
  if (suffix == "kernel") node_.kernel = index;
  if (suffix == "bias") node_.bias = index;
  return index;
}

Graph::Graph(ModelSpec spec) : spec_(std::move(spec)) {
  if (spec_.height <= 0 || spec_.width <= 0 || spec_.channels <= 0)
    fail("model input shape (", spec_.height, ", ", spec_.width, ", ", spec_.channels, ") must be positive");
  std::map<LayerType, int> counters;
  std::vector<int> shape = input_shape();
  for (size_t i = 0; i < spec_.layers.size(); ++i) {
    LayerSpec& s = spec_.layers[i];
    const std::string auto_name = default_name(s.type, counters);
    if (s.name.empty()) s.name = auto_name;
    if (find(s.name) >= 0) fail("model: two layers are named '", s.name, "'; layer names must be unique");
    Node n;
    n.spec = s;
    n.in_shape = shape;
    NodeShapes io(n, *this, s.name + " (" + layer_type_name(s.type) + ") with input " + keras_shape(shape));
    op_of(s.type).infer(io);
    n.out_size = size_t(io.count(n.out_shape, "the output"));
    shape = n.out_shape;
    nodes_.push_back(n);
  }
  if (nodes_.empty()) fail("model: has no layers");
  head_kind(*this);  // Dense(1, sigmoid) or Dense(N, softmax); throws naming the last layer otherwise
}

int Graph::find(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].spec.name == name) return int(i);
  return -1;
}

std::string Graph::layer_names() const {
  std::string out;
  for (const Node& n : nodes_) out += (out.empty() ? "" : ", ") + n.spec.name;
  return out;
}

const Node& Graph::node(const std::string& name) const {
  int i = find(name);
  if (i < 0) fail("no layer named '", name, "'; valid layers: ", layer_names());
  return nodes_[size_t(i)];
}

std::string Graph::summary() const {
  std::ostringstream os;
  const std::string rule(65, '_'), thick(65, '=');
  os << rule << "\n";
  print_row(os, {"Layer (type)", "Output Shape", "Param #"});
  os << thick << "\n";
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    print_row(os, {n.spec.name + " (" + layer_type_name(n.spec.type) + ")", keras_shape(n.out_shape),
                   std::to_string(n.param_count)});
    os << (i + 1 < nodes_.size() ? rule : thick) << "\n";
  }
  size_t trainable = 0;
  for (const ParamRef& p : params_) trainable += p.trainable ? p.size : 0;
  os << "Total params: " << with_commas(param_count_) << "\n"
     << "Trainable params: " << with_commas(trainable) << "\n"
     << "Non-trainable params: " << with_commas(param_count_ - trainable) << "\n"
     << rule << "\n";
  return os.str();
}

std::vector<float> init_params(const Graph& g, uint64_t seed) {
  std::vector<float> w(g.param_count(), 0.f);
  std::mt19937_64 rng(seed);
  for (const ParamRef& p : g.params()) {
    if (p.init == ParamInit::Ones) std::fill(w.begin() + long(p.offset), w.begin() + long(p.offset + p.size), 1.f);
    if (p.shape.size() < 2) continue;  // biases start at zero
    // fan_in / fan_out as Keras computes them: receptive field x Cin, receptive field x Cout.
    double receptive = 1;
    for (size_t d = 0; d + 2 < p.shape.size(); ++d) receptive *= p.shape[d];
    const double fan_in = receptive * p.shape[p.shape.size() - 2];
    const double fan_out = receptive * p.shape.back();
    const double limit = std::sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < p.size; ++i) {
      const double u = double(rng() >> 11) * 0x1.0p-53;  // uniform [0, 1) from 53 bits
      w[p.offset + i] = float((2 * u - 1) * limit);
    }
  }
  return w;
}

}  // namespace acts
