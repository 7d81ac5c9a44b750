// The graph runtime's executing half: a Backend owns parameters, gradients, optimizer state and
// every intermediate activation of one Graph, on the CPU or on the GPU. Apps and tests talk to
// this interface only; everything crossing it is host memory in Keras' layouts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/graph.h"
#include "kernels/adam_rule.h"
#include "kernels/rmsprop_rule.h"
#include "runtime/core/op_profile.h"

namespace acts {

// One batch as the data pipeline hands it over. Either `images` (uint8, rescaled by `scale` on
// the backend's device) or `inputs` (float, used as is) is set.
struct Batch {
  int n = 0;
  const uint8_t* images = nullptr;  // (n, H, W, C) uint8
  const float* inputs = nullptr;    // (n, H, W, C) float
  const float* affine = nullptr;    // optional (n, 6) augmentation: output pixel (x, y) samples the
                                    // source at (a0 x + a1 y + a2, a3 x + a4 y + a5), bilinear,
                                    // edges clamped (fill_mode='nearest'); only with `images`
  const float* labels = nullptr;    // (n) class indices (0 or 1 for a sigmoid head); needed by backward()
                                    // and eval_step()
  float scale = 1.f / 255.f;
  // Optional, with `images`: the same images as rows of an image set the backend keeps
  // (keep_images). A backend that keeps set `images_set` gathers the rows there instead of
  // copying `images` again; any other backend uses `images`.
  int images_set = -1;
  const uint32_t* rows = nullptr;  // (n)
};

// Running sums over the batches since the last take_metrics(); epoch means are weighted by
// batch size, as Keras reports them.
struct Metrics {
  double loss_sum = 0, correct = 0;
  long count = 0;
  double loss() const { return count ? loss_sum / count : 0; }
  double acc() const { return count ? correct / count : 0; }
};

// One scalar per image of a batch, for Backend::gradient(): what heatmaps, saliency and filter
// patterns differentiate (runtime/explain builds the usual ones: a class score, a channel's mean).
struct Objective {
  enum class Kind {
    kElement,      // the element target[i] of image i's output (flat index within one image)
    kChannelMean,  // the mean over positions of channel target[i] (the last axis) of image i's output
  };
  std::string layer;            // the layer whose output the scalar reads
  Kind kind = Kind::kElement;
  bool pre_activation = false;  // read the output before the layer's own activation (the head's
                                // logit z rather than sigmoid(z)); for a layer without one, the same
  std::vector<int> target;      // per image
  std::vector<float> weight;    // per image, a factor (class 0 of a sigmoid head: -1, score -z); empty: 1
};

// The update rule of update(): RMSprop (the tutorial's) or Adam (Keras 3's, kernels/adam_rule.h).
enum class Optimizer { kRmsprop, kAdam };
// Per parameter, the optimizer keeps this many values (opt_state() holds them slot after slot):
// RMSprop its accumulator a; Adam m, then v.
inline size_t opt_slots(Optimizer o) { return o == Optimizer::kAdam ? 2 : 1; }

// Keras' dtype policy for the layers. kMixedBf16 is 'mixed_bfloat16': the weights, the optimizer
// state and the loss stay float32, each layer computes in bfloat16: its input, its weights (cast
// from the float32 ones when read) and its output are bf16 tensors, and so are the gradients
// flowing back through it and its weight gradients (cast to float32 for the update). Products of
// bf16 numbers are summed in float32, as oneDNN's, cuDNN's and cuBLAS' bf16 kernels do. The head's
// output before its activation (the logit) is bf16; the sigmoid/softmax and the loss take it in
// float32. docs/mixed-precision.md says what runs where.
enum class Precision { kFloat32, kMixedBf16 };
// "fp32" | "bf16" (also Keras' "float32" | "mixed_bfloat16"); anything else fails naming the choices.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);  // "fp32" | "bf16"

struct BackendOptions {
  int max_batch = 20;          // activation buffers are allocated once for this many images
  float lr = 1e-4f;            // RMSprop as Keras: a = rho a + (1 - rho) g^2; w -= lr g / (sqrt(a) + eps)
  float rho = 0.9f;
  float eps = 1e-8f;
  RmspropRule rmsprop_rule = RmspropRule::kKeras2;  // kKeras3: w -= lr g / sqrt(a + eps) (kernels/rmsprop_rule.h)
  Optimizer optimizer = Optimizer::kRmsprop;  // kAdam: lr, `adam` and eps (Keras 3's 1e-7) are Adam's
  AdamHyper adam;                             // beta_1, beta_2
  uint64_t seed = 1;           // dropout masks
  bool deterministic = true;   // GPU: reproducible algorithms only
  bool tf32 = false;           // GPU: TF32 tensor-core math instead of strict fp32
  bool conv_search = false;    // GPU: time cuDNN's convolution algorithms once per shape and take the
                               // fastest allowed (as cudnn.benchmark), instead of its heuristics' pick
  bool cuda_graphs = true;     // GPU: replay train_step() as a captured CUDA graph (env ACTS_CUDA_GRAPHS=0: off)
  bool cpu_reference = false;  // CPU: plain reference loops of kernels/cpu (the test oracle)
                               // instead of the im2col + OpenBLAS fast path
  bool peaks_thrust = false;   // GPU: channel_peaks() by Thrust's reduce_by_key instead of the
                               // hand-written kernel (bench's top9_thrust row)
  Precision precision = Precision::kFloat32;  // the layers' dtype policy (above)
};

class Backend {
 public:
  explicit Backend(const Graph& g, const BackendOptions& o) : graph_(g), opt_(o) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual std::string name() const = 0;  // "cpu (reference)", "cuda (NVIDIA H200, cuDNN 9.x)"
  const Graph& graph() const { return graph_; }
  const BackendOptions& options() const { return opt_; }

  // Flat vectors in Graph::params() order and Keras layouts.
  virtual std::vector<float> params() const = 0;
  virtual void set_params(const std::vector<float>& w) = 0;
  // The optimizer's per-parameter state, opt_slots() slots of the same layout one after another:
  // RMSprop's accumulators; Adam's m then v.
  virtual std::vector<float> opt_state() const = 0;
  virtual void set_opt_state(const std::vector<float>& a) = 0;
  // Keras' optimizer.iterations: the updates the optimizer state has seen (Adam's bias correction
  // uses t = iterations + 1). Unlike step(), a Keras file's count can set it.
  virtual uint64_t opt_iterations() const = 0;
  virtual void set_opt_iterations(uint64_t t) = 0;
  virtual std::vector<float> grads() const = 0;      // of the last backward(), mean over the batch
  virtual void set_learning_rate(float lr) = 0;

  // Training steps taken (update() calls). Dropout masks are drawn from (options().seed, step),
  // so a run resumed with set_step() draws exactly the masks the uninterrupted run would.
  uint64_t step() const { return step_; }
  void set_step(uint64_t s) { step_ = s; }

  // Forward pass; keeps every layer's output until the next forward.
  virtual void forward(const Batch& b, bool training) = 0;
  // forward(b, false) through the layers up to and including `last` only: all that a gradient
  // of `last`'s output needs (the filter patterns of conv2d_1 skip nine tenths of the model).
  // activation(), logits() and gradient() of later layers are refused until the next forward.
  virtual void forward_to(const Batch& b, const std::string& last) = 0;
  // After forward(b, true): loss gradients for every parameter; adds loss/acc to the metrics.
  virtual void backward(const Batch& b) = 0;
  // After forward(b, false): the gradient of each image's scalar `o` with respect to the output of
  // each layer in `wrt` ("" = the model's input, after the rescale), for the whole batch:
  // out[k] = (n, shape of wrt[k]), image i's row holding d o_i / d (that output of image i). The
  // backward runs from o.layer down to the earliest wrt layer and no further, computes input
  // gradients only (no parameter gradient) and leaves parameters, gradients(), optimizer state
  // and metrics as they were. A wrt layer after o.layer, an unknown name or a target out of range
  // throws acts::BadRequest naming it. For wrt[k] == o.layer the result is the seed itself (with
  // o.pre_activation, the gradient at the output before the activation).
  virtual void gradient(const Objective& o, const std::vector<std::string>& wrt,
                        std::vector<std::vector<float>>& out) = 0;
  // One optimizer step (options().optimizer) from the gradients of the last backward().
  virtual void update() = 0;
  virtual void train_step(const Batch& b) { forward(b, true); backward(b); update(); }
  // forward(b, false) and adds loss/acc to the metrics.
  virtual void eval_step(const Batch& b) = 0;
  virtual Metrics take_metrics() = 0;

  // Host copy of a layer's output from the last forward: (n, out_shape...), e.g. (n, H, W, C),
  // into `out` (resized; its memory is reused, so a loop over batches allocates once).
  virtual void activation(const std::string& layer, std::vector<float>& out) const = 0;
  std::vector<float> activation(const std::string& layer) const {
    std::vector<float> v;
    activation(layer, v);
    return v;
  }
  // Per-channel sums of a layer's output from the last forward (its last axis the channels, every
  // other position a row), ADDED into `acc`: 4 * channels doubles, [sum | sum of squares | zeros |
  // max] (kernels/cpu/channel_stats.h). The CUDA backend sums on the device: only `acc` crosses.
  void add_channel_sums(const std::string& layer, std::vector<double>& acc) const;
  // Each image's peak per channel of a layer's output from the last forward (dump_acts --top):
  // the largest value over the image's positions and the first position holding it
  // (kernels/cpu/channel_peaks.h), into `peak` and `where`, (n, channels) each, resized. A 1-D
  // layer's units are its channels, at position 0. The CUDA backend finds them on the device:
  // only these cross.
  void channel_peaks(const std::string& layer, std::vector<float>& peak, std::vector<int>& where) const;
  // The head's outputs of the last forward: (n) sigmoid outputs P(class 1), or (n, N) softmax
  // probabilities.
  std::vector<float> predictions() const { return activation(graph_.nodes().back().spec.name); }
  // The last layer's output before its activation (the head's logits), (n, units), of the last
  // forward: class scores without the saturation of sigmoid(z) near 0 and 1.
  virtual std::vector<float> logits() const = 0;

  // One training step, as forward(b, true), backward(b), update() (eagerly: never a CUDA graph),
  // timed op by op (op_profile.h). Leaves the backend exactly as train_step(b) would.
  std::vector<OpTime> profile_train_step(const Batch& b);
  // Keeps `count` images (count, H, W, C) uint8 (copied; the caller's memory may go) as image
  // set `set` for batches that name them by row, so that a step does not copy them again. False
  // when the backend gains nothing by it (the CPU, whose batches are in its memory already) or
  // has no room (a warning says so); batches then use their `images` as before.
  virtual bool keep_images(int /*set*/, const uint8_t* /*images*/, size_t /*count*/) { return false; }
  // The algorithms the backend chose, a line per layer (the GPU's cuDNN choices), for logs.
  virtual std::string algorithms() const { return {}; }

 protected:
  void check_batch(const Batch& b, bool need_labels) const;  // throws on n > max_batch etc.
  // gradient()'s checks and plan, shared by the backends: the nodes it runs through.
  struct GradientPlan {
    size_t from = 0;               // o.layer's node
    size_t stop = 0;               // the lowest node whose backward runs; from + 1 when none does
    bool want_input = false;       // "" in wrt: node 0 also writes dx
    std::vector<int> wrt_node;     // per wrt entry: its node, -1 for the input
    std::vector<bool> keep;        // per node: its output's gradient is asked for
  };
  GradientPlan plan_gradient(const Objective& o, const std::vector<std::string>& wrt, int n) const;
  // The seed d o_i / d (o.layer's output of image i) into d, (n, out_size), zeros elsewhere.
  void objective_seed(const Objective& o, int n, float* d) const;
  virtual std::unique_ptr<OpClock> make_op_clock() const = 0;
  // add_channel_sums() for a computed node whose output has `channels` channels.
  virtual void add_channel_sums_of(size_t node, int channels, double* acc) const = 0;
  // channel_peaks() for a computed node whose output has `channels` channels.
  virtual void channel_peaks_of(size_t node, int channels, std::vector<float>& peak, std::vector<int>& where) const = 0;
  // Called by the passes after each op is issued; costs a branch unless a profile is running.
  void mark(const std::string& layer, const char* what) {
    if (clock_) clock_->mark(layer.empty() ? what : layer + " " + what);
  }
  // forward_to()'s node count for `last` (throws BadRequest naming an unknown layer).
  size_t nodes_through(const std::string& last) const;
  // The layer's node, refused (acts::Error) when the last forward did not compute it.
  size_t computed_node(const std::string& layer, const char* what) const;
  const Graph& graph_;
  BackendOptions opt_;
  uint64_t step_ = 0;
  size_t computed_ = 0;  // nodes whose output the last forward computed (forward_to: fewer than all)

 private:
  OpClock* clock_ = nullptr;  // set during profile_train_step() only
};

std::unique_ptr<Backend> make_cpu_backend(const Graph& g, const BackendOptions& o);
// Throws acts::Error when the build has no CUDA backend or no GPU is usable.
std::unique_ptr<Backend> make_cuda_backend(const Graph& g, const BackendOptions& o);
// True when this build has the CUDA backend and a GPU is visible; `why` says why not.
bool cuda_available(std::string* why);
// Lines for --version: CUDA runtime, driver and cuDNN versions found at run time, the GPU, or
// why there is none.
std::string device_versions();
// device: "auto" (GPU when there is one, else the CPU with a warning in `warning`), "cuda", "cpu".
std::unique_ptr<Backend> make_backend(const std::string& device, const Graph& g, const BackendOptions& o,
                                      std::string* warning);

}  // namespace acts
