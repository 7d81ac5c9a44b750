// One Conv2D (cross-correlation as Keras computes it, a square stride, the same zero padding
// before and after: cuDNN's; conv2d_cuda.cpp adds TensorFlow's odd extra) at one batch size,
// through cuDNN's convolution API on NHWC tensors. Descriptors are built and the three algorithms
// (forward, backward data, backward filter) chosen ONCE, at construction: from cuDNN's
// heuristics (cudnnGet*Algorithm_v7, the default: the same choice on every run), or with
// `search` by timing them on the GPU (cudnnFind*Algorithm, what torch.backends.cudnn.benchmark
// and TensorFlow's autotuning do: often faster, but the choice, and so the last bits of the
// results, may differ between runs). Either way the same filters apply: deterministic mode
// keeps only deterministic algorithms (should cuDNN offer none for a shape, it warns and takes
// a non-deterministic one); strict fp32 keeps only FMA math and the GEMM/direct algorithms (no
// FFT or Winograd, whose rounding differs from a plain dot product); TF32 mode lets cuDNN pick
// tensor-core algorithms. Bias and activation are separate kernels (activations.cuh). Every
// error names the layer and its dims.
// The usable algorithms are kept in that order as candidates: should cuDNN refuse the chosen one
// when it runs (NOT_SUPPORTED or EXECUTION_FAILED: a kernel it offered cannot run on this device
// or driver), the pass takes the next candidate, says so in one line and keeps it, as PyTorch's
// algorithm iterator does. Never inside a CUDA-graph capture: there the call throws and the
// capture is dropped (the backend's steps run eagerly before they are captured, so a first use
// happens outside any capture). cuDNN's legacy API holds at most 2^31 - 1 elements per tensor: a
// larger batch is refused before cuDNN is asked, naming the largest batch that fits.
//   x (n, h, w, c)   w (f, k, k, c) (cuDNN's NHWC filter layout)   y (n, oh(), ow(), f)
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "runtime/cuda/cuda_context.h"

namespace acts {

struct ConvShape {
  int n = 0, h = 0, w = 0, c = 0;  // input (n, h, w, c)
  int k = 3, f = 0;                // k x k kernel, f filters
  int stride = 1;
  int pad_h = 0, pad_w = 0;  // zeros above and below, left and right
  int oh() const { return (h + 2 * pad_h - k) / stride + 1; }
  int ow() const { return (w + 2 * pad_w - k) / stride + 1; }
};

class ConvLayer {
 public:
  // workspace_limit: the most workspace any one chosen algorithm may use; type: the element type of
  // x, w and y (CUDNN_DATA_FLOAT or CUDNN_DATA_BFLOAT16).
  ConvLayer(const CudaContext& ctx, const std::string& name, const ConvShape& s, bool deterministic, bool search,
            size_t workspace_limit, cudnnDataType_t type = CUDNN_DATA_FLOAT);
  ~ConvLayer();
  ConvLayer(const ConvLayer&) = delete;
  ConvLayer& operator=(const ConvLayer&) = delete;

  const ConvShape& shape() const { return s_; }
  // The most workspace the three chosen algorithms need.
  size_t workspace_bytes() const;
  // "fwd IMPLICIT_PRECOMP_GEMM (FMA), bwd-data ALGO_1 (FMA), bwd-filter ALGO_1 (FMA)", after
  // "bf16 tensors: " for a bf16 layer
  std::string algorithms() const;

  // Each overwrites its output (beta = 0); every tensor is of the layer's type. ws: at least
  // workspace_bytes(); a fallback candidate must fit in ws_bytes too.
  void forward(const void* x, const void* w, void* y, void* ws, size_t ws_bytes);
  void backward_data(const void* w, const void* dy, void* dx, void* ws, size_t ws_bytes);
  void backward_filter(const void* x, const void* dy, void* dw, void* ws, size_t ws_bytes);

  // The largest batch of shape s (any n) whose input and output fit cuDNN's tensor limit.
  static long max_batch(const ConvShape& s);

 private:
  struct Candidate {
    int algo = 0;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
    size_t memory = 0;  // workspace, as cuDNN listed it
    bool deterministic = true;
  };
  // One direction (forward, backward data, backward filter): its descriptor, which carries the
  // math type of its algorithm, and its candidates in order of preference.
  struct Direction {
    const char* pass = "";  // "forward", "backward-data", "backward-filter"
    const char* (*name)(int) = nullptr;
    cudnnConvolutionDescriptor_t desc = nullptr;
    std::function<cudnnStatus_t(int algo, size_t* bytes)> workspace_of;
    std::vector<Candidate> candidates;
    size_t at = 0;        // the candidate in use; candidates.size() once none is left
    size_t ws = 0;        // its workspace
    std::string refused;  // what cuDNN refused so far, for the error when none is left
    bool exhausted() const { return at >= candidates.size(); }
    std::string text(size_t i) const;  // "IMPLICIT_GEMM (FMA)"
  };

  void build(bool deterministic, size_t workspace_limit);
  bool capturing() const;
  bool searching() const;  // search asked for, and the stream is not being captured
  void choose_forward(bool deterministic, size_t limit);
  void choose_backward_data(bool deterministic, size_t limit);
  void choose_backward_filter(bool deterministic, size_t limit);
  // Takes candidate d.at (sets its math type, asks its workspace); false if it needs more than `room`.
  bool adopt(Direction& d, size_t room);
  // Runs `call` with the candidate in use; on a refusal at execution moves to the next one.
  void execute(Direction& d, size_t ws_bytes, const char* call_text, int line,
               const std::function<cudnnStatus_t(int algo)>& call);
  void release() noexcept;
  void check_workspace(size_t need, size_t have) const;

  const CudaContext& ctx_;
  ConvShape s_;
  bool search_ = false;
  bool deterministic_ = true;
  cudnnDataType_t type_ = CUDNN_DATA_FLOAT;
  bool tensor_ops_ = false;  // TF32 or bf16: tensor-op math and every algorithm allowed, not strict fp32
  std::string where_;  // "conv2d_1 (Conv2D, input (20, 150, 150, 3), kernel 3x3, 32 filters)"
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  Direction fwd_, data_, filter_;
};

}  // namespace acts
