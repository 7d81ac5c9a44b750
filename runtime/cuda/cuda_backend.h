// The CUDA backend: the Graph's nodes on one GPU through each layer's CudaOp (runtime/cuda/
// cuda_op.h: cuDNN for Conv2D, cuBLAS for Dense, the kernels of kernels/cuda for the rest) and
// the backend's own kernels (input rescale/augmentation, BCE, RMSprop or Adam).
//
// Memory: everything is allocated at construction for options().max_batch: one arena holds
// weights, gradients and the optimizer's slots (RMSprop's accumulators, or Adam's m and v: so an
// update is one launch), one arena every
// activation, the two ping-pong gradient buffers, the batch inputs and the running metrics; a
// third buffer is cuDNN's workspace. A training step then copies only the batch to the GPU
// (uint8 images or float inputs, labels, optional affine; through pinned staging buffers, so the
// copy is asynchronous) and nothing back. With keep_images() a whole split stays on the GPU and
// a step uploads its row numbers, which a gather kernel turns into the batch.
//
// Layouts: activations are NHWC, so activation(name) is Keras' (n, H, W, C) as is. Weights cross
// the interface in Keras' flat layout; on the device, conv kernels are (Cout, kh, kw, Cin) as
// cuDNN wants (see param_layout.h).
//
// Synchronisation: train_step(), forward(), backward(), update() and eval_step() only enqueue
// work (they may wait for the previous batch's upload to leave the staging buffer). These wait
// for the GPU: take_metrics(), activation(), predictions(), params(), grads(), opt_state(),
// set_params(), set_opt_state(), set_learning_rate().
//
// Mixed bf16 (options().precision, Keras' mixed_bfloat16), as CpuBackend does it: the layers
// compute with a bf16-rounded copy of the float32 master weights (refreshed at every forward, a
// 14 MB pass) and every tensor they hand on (input, outputs, logits, the gradients flowing down,
// the parameter gradients) is rounded to bf16 in place; the loss, the optimizer and its state
// stay float32. Conv2D and Dense hand bf16 copies to cuDNN's and cuBLAS' bf16 paths (tensor
// cores, float32 accumulation; runtime/ops/conv2d/conv2d_cuda.cpp, runtime/ops/dense/dense_cuda.cpp);
// the other ops compute in float32 on the bf16-valued tensors.
//
// CUDA graph: with options().cuda_graphs (and env ACTS_CUDA_GRAPHS not "0"), train_step() and
// eval_step() run the first step of each (step kind, batch size, input kind) eagerly, capture the
// second and replay the capture from then on. forward()/backward()/update() always run eagerly.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "cuda_context.h"
#include "cuda_op.h"
#include "device_buffer.h"
#include "param_layout.h"
#include "runtime/core/backend.h"
#include "runtime/core/head.h"
#include "step_graph.h"

namespace acts {

class CudaBackend final : public Backend {
 public:
  CudaBackend(const Graph& g, const BackendOptions& o);
  ~CudaBackend() override;

  std::string name() const override;
  std::vector<float> params() const override { return read_params(0); }
  void set_params(const std::vector<float>& w) override { write_params(0, w, "parameter vector"); }
  std::vector<float> opt_state() const override;
  void set_opt_state(const std::vector<float>& a) override;
  uint64_t opt_iterations() const override;
  void set_opt_iterations(uint64_t t) override;
  std::vector<float> grads() const override { return read_params(1); }
  void set_learning_rate(float lr) override;

  void forward(const Batch& b, bool training) override;
  void forward_to(const Batch& b, const std::string& last) override;
  void backward(const Batch& b) override;
  void gradient(const Objective& o, const std::vector<std::string>& wrt,
                std::vector<std::vector<float>>& out) override;
  void update() override;
  void train_step(const Batch& b) override;
  void eval_step(const Batch& b) override;
  Metrics take_metrics() override;
  using Backend::activation;
  void activation(const std::string& layer, std::vector<float>& out) const override;
  std::vector<float> logits() const override;
  std::string algorithms() const override { return conv_algorithms(); }
  bool keep_images(int set, const uint8_t* images, size_t count) override;

  // For tests and logs.
  void set_use_graphs(bool on) { use_graphs_ = on; }
  bool use_graphs() const { return use_graphs_; }
  size_t graphs_captured() const;       // step graphs (training and validation) instantiated so far
  std::string conv_algorithms() const;  // the cuDNN algorithms chosen for max_batch, per layer
  size_t device_bytes() const;          // GPU memory this backend allocated

 protected:
  std::unique_ptr<OpClock> make_op_clock() const override;
  void add_channel_sums_of(size_t node, int channels, double* acc) const override;
  void channel_peaks_of(size_t node, int channels, std::vector<float>& peak, std::vector<int>& where) const override;

 private:
  enum class Input { Images, Augmented, Floats };
  // Graph slots are keyed (batch size, kind): kind = the input kind for training steps,
  // kEvalSlots + the input kind for validation steps.
  static constexpr int kEvalSlots = 3;
  struct GraphSlot {  // per (step kind, batch size, input kind)
    int runs = 0;
    StepGraph graph;
  };

  static Input input_kind(const Batch& b);
  // Captures the step into slot.graph; on failure warns once and turns CUDA graphs off.
  void capture(GraphSlot& slot, const std::function<void()>& pass);
  // Runs `pass` (device work only) as slot `key`'s graph: eagerly the first time, captured the
  // second, replayed after; always eagerly when graphs are off.
  void run_step(std::pair<int, int> key, const std::function<void()>& pass);
  void allocate_activations();
  void plan(int n);  // every op's plan for batch size n, once
  void upload(const Batch& b, bool with_inputs);
  Input begin_step(const Batch& b, bool training);  // checks and uploads a labelled batch
  // The device passes (cuda_passes.cpp); they only enqueue work on the stream.
  void forward_nodes(const Batch& b, bool training, size_t count);  // nodes [0, count)
  void forward_pass(int n, Input in, bool training, size_t count = SIZE_MAX);  // nodes [0, count)
  void loss_pass(int n, bool with_gradient);  // adds to the running metrics; dL/dlogits into grad_[0]
  void backward_pass(int n);
  // Node i's backward arguments for batch n; parameter gradients written only with with_dw.
  CudaBackward backward_args(size_t i, int n, bool with_dw, float* dy, float* dx, bool act_done,
                             bool input_relu) const;
  // gradient()'s pass: from the seed in grad_[0] down through p's nodes, input gradients only;
  // each asked-for gradient is copied into out (host) on the way.
  void gradient_pass(int n, const GradientPlan& p, bool pre_activation, const std::vector<std::string>& wrt,
                     std::vector<std::vector<float>>& out);
  void update_pass();
  void train_pass(int n, Input in) {
    forward_pass(n, in, true);
    backward_pass(n);
    update_pass();
  }

  std::vector<float> read_params(int which) const;  // 0 weights, 1 gradients, 2.. optimizer slots
  void write_params(int which, const std::vector<float>& v, const char* what);
  float* weights(int param) const { return params_.get() + layout_.offset(param); }
  float* gradients(int param) const { return params_.get() + layout_.total() + layout_.offset(param); }
  struct NodeParams {  // device pointers, one per parameter tensor of the node
    std::vector<float*> w, g;  // float32 master weights (and state), gradients
    std::vector<float*> c;     // the weights the layer computes with: w, or their bf16 copy
  };
  // Rounds n floats at p to bf16 in place, in mixed bf16 only (enqueued on the stream).
  void to_bf16(float* p, size_t n) const;
  const float* input_of(size_t node) const { return node == 0 ? x_ : out_[node - 1]; }

  CudaContext ctx_;
  DeviceParamLayout layout_;
  DeviceBuffer<float> params_;             // [weights | gradients | opt slots...], layout_.total() each
  DeviceBuffer<uint64_t> opt_scalars_;     // [optimizer iterations | Adam's alpha of the step (a float)]
  DeviceBuffer<unsigned char> arena_;      // activations, gradient ping-pong, batch, metrics
  DeviceBuffer<unsigned char> workspace_;  // cuDNN
  const bool bf16_ = opt_.precision == Precision::kMixedBf16;
  DeviceBuffer<float> compute_;            // mixed bf16: the weights rounded, layout_.total() (else empty)
  // channel_peaks(): its results, kept from call to call (dump_acts --top calls it per batch and
  // layer) and grown when a layer needs more
  mutable DeviceBuffer<float> peak_;
  mutable DeviceBuffer<int> peak_at_;
  size_t input_size_ = 0;                  // floats per image

  // Pointers into arena_.
  uint8_t* images_ = nullptr;            // (max_batch, H, W, C) uint8
  float* x_ = nullptr;                   // (max_batch, H, W, C) rescaled input
  std::vector<float*> out_;              // per node, its output (ops that alias their input share it)
  float* logits_ = nullptr;              // (max_batch, last out_size) the last node's output before its activation
  float* grad_[2] = {nullptr, nullptr};  // ping-pong dL/d(activation) buffers
  float* bias_scratch_ = nullptr;
  size_t bias_scratch_floats_ = 0;
  double* sums_ = nullptr;  // running [loss sum, correct]
  const bool softmax_head_ = head_kind(graph_) == HeadKind::kSoftmax;  // softmax cross-entropy, else BCE
  float* lr_ = nullptr;
  unsigned char* objective_ = nullptr;  // gradient(): (max_batch) int targets, then (max_batch) float weights
  unsigned char* small_ = nullptr;  // [step u64 | scale f32 | labels | affine], uploaded per batch
  size_t small_bytes_ = 0, affine_at_ = 0, rows_at_ = 0;
  static constexpr size_t kScaleAt = 8, kLabelsAt = 16;
  const uint64_t* step_dev() const { return reinterpret_cast<const uint64_t*>(small_); }
  const float* scale_dev() const { return reinterpret_cast<const float*>(small_ + kScaleAt); }
  const float* labels_dev() const { return reinterpret_cast<const float*>(small_ + kLabelsAt); }
  const float* affine_dev() const { return reinterpret_cast<const float*>(small_ + affine_at_); }
  const uint32_t* rows_dev() const { return reinterpret_cast<const uint32_t*>(small_ + rows_at_); }

  struct KeptSet {  // keep_images(): a dataset's images in device memory
    DeviceBuffer<uint8_t> pixels;  // (count, H, W, C)
    size_t count = 0;
  };
  std::map<int, KeptSet> kept_;

  PinnedBuffer<unsigned char> stage_small_, stage_images_;
  PinnedBuffer<float> stage_inputs_;
  cudaEvent_t staged_ = nullptr;  // the last upload has left the staging buffers

  std::vector<std::unique_ptr<CudaOp>> ops_;  // per node
  std::vector<NodeParams> node_params_;       // per node
  std::vector<int> planned_;                  // batch sizes plan() has run for
  std::map<std::pair<int, int>, GraphSlot> graphs_;
  bool use_graphs_ = true;
  bool last_forward_training_ = false;
  int n_ = 0;       // batch size of the last forward
  long count_ = 0;  // images in the running metrics
};

}  // namespace acts
