#include "conv_layer.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace acts {

namespace {

const char* fwd_name(int a) {
  static const char* n[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                            "WINOGRAD",      "WINOGRAD_NONFUSED"};
  return a >= 0 && a < 8 ? n[a] : "?";
}
const char* data_name(int a) {
  static const char* n[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  return a >= 0 && a < 6 ? n[a] : "?";
}
const char* filter_name(int a) {
  static const char* n[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
  return a >= 0 && a < 7 ? n[a] : "?";
}
const char* math_name(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH:
      return "default";
    case CUDNN_TENSOR_OP_MATH:
      return "tensor-op";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
      return "tensor-op+conversion";
    case CUDNN_FMA_MATH:
      return "FMA";
  }
  return "?";
}

// Strict fp32 keeps algorithms that compute plain fp32 dot products (GEMM-like or direct).
bool plain_fwd(int a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}
bool plain_data(int a) { return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1; }
bool plain_filter(int a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

// The first (fastest by cuDNN's heuristics or timing) entry that passes every filter; `tried` collects why
// the others were skipped, for the error message. Perf is any of cuDNN's three *AlgoPerf_t.
template <typename Perf>
bool pick(const std::vector<Perf>& perfs, bool deterministic, bool strict, size_t limit, bool (*plain)(int),
          const char* (*name)(int), Perf* out, std::string* tried) {
  for (const Perf& p : perfs) {
    std::string why;
    if (p.status != CUDNN_STATUS_SUCCESS)
      why = "not supported";
    else if (deterministic && p.determinism != CUDNN_DETERMINISTIC)
      why = "non-deterministic";
    else if (strict && !plain(int(p.algo)))
      why = "not plain fp32";
    else if (strict && (p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
      why = "tensor-op math";
    else if (p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
      why = "converts to fp16";
    else if (p.memory > limit)
      why = "workspace " + mib(p.memory) + " over the " + mib(limit) + " limit";
    if (why.empty()) {
      *out = p;
      if (strict) out->mathType = CUDNN_FMA_MATH;  // never TF32, whatever the default allows
      return true;
    }
    *tried += std::string(tried->empty() ? "" : ", ") + name(int(p.algo)) + " " + why;
  }
  return false;
}

// One direction's algorithm: the heuristics' best that passes every filter; else cuDNN's default
// algorithm (deterministic and plain fp32; what PyTorch runs in deterministic mode) in case the
// heuristics under-report; else, only if determinism was the obstacle, the best non-deterministic
// one with a warning (training still works, bit-exact reruns do not); else an error that lists
// why each candidate was refused.
template <typename Perf, typename Workspace>
Perf choose(const std::string& where, const char* direction, const std::vector<Perf>& perfs, bool deterministic,
            bool tf32, size_t limit, bool (*plain)(int), const char* (*name)(int), decltype(Perf::algo) fallback,
            const Workspace& workspace_of) {
  Perf p{};
  std::string tried;
  if (pick(perfs, deterministic, !tf32, limit, plain, name, &p, &tried)) return p;
  p = Perf{};
  p.algo = fallback;
  p.mathType = tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  // Not if the heuristics listed the default as unsupported here: its workspace query may still succeed.
  const bool refused = std::any_of(perfs.begin(), perfs.end(), [&](const Perf& q) {
    return q.algo == fallback && q.status != CUDNN_STATUS_SUCCESS;
  });
  if (!refused && workspace_of(fallback, &p.memory) == CUDNN_STATUS_SUCCESS && p.memory <= limit) return p;
  std::string ignored;
  if (deterministic && pick(perfs, false, !tf32, limit, plain, name, &p, &ignored)) {
    std::fprintf(stderr,
                 "warning: %s: cuDNN has no deterministic %s algorithm here; using %s, so reruns may differ "
                 "in the last bits\n",
                 where.c_str(), direction, name(int(p.algo)));
    return p;
  }
  fail(where, ": cuDNN offers no usable ", direction, " algorithm (", deterministic ? "deterministic, " : "",
       tf32 ? "TF32" : "strict fp32", ", workspace up to ", mib(limit), "): ", tried);
}

}  // namespace

ConvLayer::ConvLayer(const CudaContext& ctx, const std::string& name, const ConvShape& s, bool deterministic,
                     bool search, size_t workspace_limit)
    : ctx_(ctx), s_(s), search_(search) {
  where_ = name + " (Conv2D, input (" + std::to_string(s.n) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) +
           ", " + std::to_string(s.c) + "), kernel " + std::to_string(s.k) + "x" + std::to_string(s.k) + ", " +
           std::to_string(s.f) + " filters)";
  if (s.n <= 0 || s.c <= 0 || s.f <= 0 || s.k <= 0 || s.oh() <= 0 || s.ow() <= 0)
    fail(where_, ": the kernel does not fit the input, or a dimension is not positive");
  try {
    build(deterministic, workspace_limit);
  } catch (...) {
    release();
    throw;
  }
}

ConvLayer::~ConvLayer() { release(); }

void ConvLayer::release() noexcept {
  if (x_desc_) CUDA_LOG(cudnnDestroyTensorDescriptor(x_desc_));
  if (y_desc_) CUDA_LOG(cudnnDestroyTensorDescriptor(y_desc_));
  if (w_desc_) CUDA_LOG(cudnnDestroyFilterDescriptor(w_desc_));
  for (cudnnConvolutionDescriptor_t d : {fwd_desc_, data_desc_, filter_desc_})
    if (d) CUDA_LOG(cudnnDestroyConvolutionDescriptor(d));
  x_desc_ = y_desc_ = nullptr;
  w_desc_ = nullptr;
  fwd_desc_ = data_desc_ = filter_desc_ = nullptr;
}

void ConvLayer::build(bool deterministic, size_t limit) {
  CUDNN_CHECK_IN(where_, cudnnCreateTensorDescriptor(&x_desc_));
  CUDNN_CHECK_IN(where_, cudnnCreateTensorDescriptor(&y_desc_));
  CUDNN_CHECK_IN(where_, cudnnCreateFilterDescriptor(&w_desc_));
  CUDNN_CHECK_IN(where_,
                 cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s_.n, s_.c, s_.h, s_.w));
  CUDNN_CHECK_IN(where_,
                 cudnnSetFilter4dDescriptor(w_desc_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, s_.f, s_.c, s_.k, s_.k));
  for (cudnnConvolutionDescriptor_t* d : {&fwd_desc_, &data_desc_, &filter_desc_}) {
    CUDNN_CHECK_IN(where_, cudnnCreateConvolutionDescriptor(d));
    CUDNN_CHECK_IN(where_,
                   cudnnSetConvolution2dDescriptor(*d, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    // Strict: FMA kernels only. TF32: tensor cores allowed (never fp16 down-conversion).
    CUDNN_CHECK_IN(where_, cudnnSetConvolutionMathType(*d, ctx_.tf32() ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  }
  int n = 0, c = 0, h = 0, w = 0;
  CUDNN_CHECK_IN(where_, cudnnGetConvolution2dForwardOutputDim(fwd_desc_, x_desc_, w_desc_, &n, &c, &h, &w));
  if (n != s_.n || c != s_.f || h != s_.oh() || w != s_.ow())
    fail(where_, ": cuDNN computes an output of (", n, ", ", h, ", ", w, ", ", c, "), the graph expects (", s_.n, ", ",
         s_.oh(), ", ", s_.ow(), ", ", s_.f, ")");
  CUDNN_CHECK_IN(where_, cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n, c, h, w));
  choose_forward(deterministic, limit);
  choose_backward_data(deterministic, limit);
  choose_backward_filter(deterministic, limit);
}

bool ConvLayer::searching() const {
  if (!search_) return false;
  // Timing runs kernels and synchronises: never inside a CUDA-graph capture (a plan made then
  // takes the heuristics' choice).
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  CUDA_CHECK(cudaStreamIsCapturing(ctx_.stream(), &capturing));
  return capturing == cudaStreamCaptureStatusNone;
}

// With search, cudnnFind* runs every algorithm on buffers it allocates itself and returns them
// fastest first; pick() then applies the same filters as to the heuristics' list.
void ConvLayer::choose_forward(bool deterministic, size_t limit) {
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
  int count = 0;
  if (searching())
    CUDNN_CHECK_IN(where_, cudnnFindConvolutionForwardAlgorithm(ctx_.cudnn(), x_desc_, w_desc_, fwd_desc_, y_desc_,
                                                                int(perfs.size()), &count, perfs.data()));
  else
    CUDNN_CHECK_IN(where_, cudnnGetConvolutionForwardAlgorithm_v7(ctx_.cudnn(), x_desc_, w_desc_, fwd_desc_, y_desc_,
                                                                  int(perfs.size()), &count, perfs.data()));
  perfs.resize(size_t(count));
  const auto workspace_of = [&](cudnnConvolutionFwdAlgo_t a, size_t* ws) {
    return cudnnGetConvolutionForwardWorkspaceSize(ctx_.cudnn(), x_desc_, w_desc_, fwd_desc_, y_desc_, a, ws);
  };
  const auto p = choose(where_, "forward", perfs, deterministic, ctx_.tf32(), limit, plain_fwd, fwd_name,
                        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, workspace_of);
  fwd_algo_ = p.algo;
  fwd_math_ = p.mathType;
  CUDNN_CHECK_IN(where_, cudnnSetConvolutionMathType(fwd_desc_, fwd_math_));
  // Asked again under the math type just set (the heuristics measured under theirs); the larger counts.
  size_t ws = 0;
  CUDNN_CHECK_IN(where_, workspace_of(fwd_algo_, &ws));
  fwd_ws_ = std::max(p.memory, ws);
}

void ConvLayer::choose_backward_data(bool deterministic, size_t limit) {
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
  int count = 0;
  if (searching())
    CUDNN_CHECK_IN(where_, cudnnFindConvolutionBackwardDataAlgorithm(ctx_.cudnn(), w_desc_, y_desc_, data_desc_, x_desc_,
                                                                     int(perfs.size()), &count, perfs.data()));
  else
    CUDNN_CHECK_IN(where_, cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx_.cudnn(), w_desc_, y_desc_, data_desc_,
                                                                       x_desc_, int(perfs.size()), &count, perfs.data()));
  perfs.resize(size_t(count));
  const auto workspace_of = [&](cudnnConvolutionBwdDataAlgo_t a, size_t* ws) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(ctx_.cudnn(), w_desc_, y_desc_, data_desc_, x_desc_, a, ws);
  };
  const auto p = choose(where_, "backward-data", perfs, deterministic, ctx_.tf32(), limit, plain_data, data_name,
                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, workspace_of);
  data_algo_ = p.algo;
  data_math_ = p.mathType;
  CUDNN_CHECK_IN(where_, cudnnSetConvolutionMathType(data_desc_, data_math_));
  // Asked again under the math type just set (the heuristics measured under theirs); the larger counts.
  size_t ws = 0;
  CUDNN_CHECK_IN(where_, workspace_of(data_algo_, &ws));
  data_ws_ = std::max(p.memory, ws);
}

void ConvLayer::choose_backward_filter(bool deterministic, size_t limit) {
  std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
  int count = 0;
  if (searching())
    CUDNN_CHECK_IN(where_, cudnnFindConvolutionBackwardFilterAlgorithm(ctx_.cudnn(), x_desc_, y_desc_, filter_desc_,
                                                                       w_desc_, int(perfs.size()), &count, perfs.data()));
  else
    CUDNN_CHECK_IN(where_,
                   cudnnGetConvolutionBackwardFilterAlgorithm_v7(ctx_.cudnn(), x_desc_, y_desc_, filter_desc_, w_desc_,
                                                                 int(perfs.size()), &count, perfs.data()));
  perfs.resize(size_t(count));
  const auto workspace_of = [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* ws) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(ctx_.cudnn(), x_desc_, y_desc_, filter_desc_, w_desc_, a, ws);
  };
  const auto p = choose(where_, "backward-filter", perfs, deterministic, ctx_.tf32(), limit, plain_filter, filter_name,
                        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, workspace_of);
  filter_algo_ = p.algo;
  filter_math_ = p.mathType;
  CUDNN_CHECK_IN(where_, cudnnSetConvolutionMathType(filter_desc_, filter_math_));
  // Asked again under the math type just set (the heuristics measured under theirs); the larger counts.
  size_t ws = 0;
  CUDNN_CHECK_IN(where_, workspace_of(filter_algo_, &ws));
  filter_ws_ = std::max(p.memory, ws);
}

size_t ConvLayer::workspace_bytes() const { return std::max(fwd_ws_, std::max(data_ws_, filter_ws_)); }

std::string ConvLayer::algorithms() const {
  return std::string("fwd ") + fwd_name(int(fwd_algo_)) + " (" + math_name(fwd_math_) + "), bwd-data " +
         data_name(int(data_algo_)) + " (" + math_name(data_math_) + "), bwd-filter " + filter_name(int(filter_algo_)) +
         " (" + math_name(filter_math_) + ")";
}

void ConvLayer::check_workspace(size_t need, size_t have) const {
  if (have < need) fail(where_, ": needs ", need, " bytes of workspace, was given ", have);
}

void ConvLayer::forward(const float* x, const float* w, float* y, void* ws, size_t ws_bytes) const {
  check_workspace(fwd_ws_, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK_IN(where_, cudnnConvolutionForward(ctx_.cudnn(), &one, x_desc_, x, w_desc_, w, fwd_desc_, fwd_algo_, ws,
                                                 ws_bytes, &zero, y_desc_, y));
}

void ConvLayer::backward_data(const float* w, const float* dy, float* dx, void* ws, size_t ws_bytes) const {
  check_workspace(data_ws_, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK_IN(where_, cudnnConvolutionBackwardData(ctx_.cudnn(), &one, w_desc_, w, y_desc_, dy, data_desc_,
                                                      data_algo_, ws, ws_bytes, &zero, x_desc_, dx));
}

void ConvLayer::backward_filter(const float* x, const float* dy, float* dw, void* ws, size_t ws_bytes) const {
  check_workspace(filter_ws_, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK_IN(where_, cudnnConvolutionBackwardFilter(ctx_.cudnn(), &one, x_desc_, x, y_desc_, dy, filter_desc_,
                                                        filter_algo_, ws, ws_bytes, &zero, w_desc_, dw));
}

}  // namespace acts
