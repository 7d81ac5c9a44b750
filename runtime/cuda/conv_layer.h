// One Conv2D (valid padding, stride 1, cross-correlation as Keras computes it) at one batch size,
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
//   x (n, h, w, c)   w (f, k, k, c) (cuDNN's NHWC filter layout)   y (n, h-k+1, w-k+1, f)
#pragma once
#include <string>

#include "cuda_context.h"

namespace acts {

struct ConvShape {
  int n = 0, h = 0, w = 0, c = 0;  // input (n, h, w, c)
  int k = 3, f = 0;                // k x k kernel, f filters
  int oh() const { return h - k + 1; }
  int ow() const { return w - k + 1; }
};

class ConvLayer {
 public:
  // workspace_limit: the most workspace any one chosen algorithm may use.
  ConvLayer(const CudaContext& ctx, const std::string& name, const ConvShape& s, bool deterministic, bool search,
            size_t workspace_limit);
  ~ConvLayer();
  ConvLayer(const ConvLayer&) = delete;
  ConvLayer& operator=(const ConvLayer&) = delete;

  const ConvShape& shape() const { return s_; }
  // The most workspace the three chosen algorithms need.
  size_t workspace_bytes() const;
  // "fwd IMPLICIT_PRECOMP_GEMM (FMA), bwd-data ALGO_1 (FMA), bwd-filter ALGO_1 (FMA)"
  std::string algorithms() const;

  // Each overwrites its output (beta = 0). ws: at least workspace_bytes().
  void forward(const float* x, const float* w, float* y, void* ws, size_t ws_bytes) const;
  void backward_data(const float* w, const float* dy, float* dx, void* ws, size_t ws_bytes) const;
  void backward_filter(const float* x, const float* dy, float* dw, void* ws, size_t ws_bytes) const;

 private:
  void build(bool deterministic, size_t workspace_limit);
  bool searching() const;  // search asked for, and the stream is not being captured
  void choose_forward(bool deterministic, size_t limit);
  void choose_backward_data(bool deterministic, size_t limit);
  void choose_backward_filter(bool deterministic, size_t limit);
  void release() noexcept;
  void check_workspace(size_t need, size_t have) const;

  const CudaContext& ctx_;
  ConvShape s_;
  bool search_ = false;
  std::string where_;  // "conv2d_1 (Conv2D, input (20, 150, 150, 3), kernel 3x3, 32 filters)"
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  // One convolution descriptor per direction: each carries the math type of its own algorithm.
  cudnnConvolutionDescriptor_t fwd_desc_ = nullptr, data_desc_ = nullptr, filter_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_algo_{};
  cudnnConvolutionBwdDataAlgo_t data_algo_{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo_{};
  cudnnMathType_t fwd_math_{}, data_math_{}, filter_math_{};
  size_t fwd_ws_ = 0, data_ws_ = 0, filter_ws_ = 0;
};

}  // namespace acts
