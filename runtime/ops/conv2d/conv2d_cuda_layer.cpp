#include "runtime/ops/conv2d/conv2d_cuda_layer.h"

#include <algorithm>
#include <cstdint>
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

// cuDNN's legacy API: "the total size of a tensor [...] is limited to 2 Giga-elements" (element
// offsets are int32).
constexpr int64_t kMaxTensorElements = INT32_MAX;

// A status with which cuDNN refuses, at execution, an algorithm it offered (a kernel that cannot
// run on this device or driver): the next candidate may run. Any other status is an error.
bool refused_at_execution(cudnnStatus_t s) {
  const int category = CUDNN_STATUS_CATEGORY(int(s));
  return category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_EXECUTION_FAILED;
}

// One direction's candidates, best first: every entry of the heuristics' (or the search's) list
// that passes every filter; then cuDNN's default algorithm (deterministic and plain fp32; what
// PyTorch runs in deterministic mode) in case the heuristics under-report; then, in deterministic
// mode, the entries only determinism kept out (taken with a warning: training still works,
// bit-exact reruns do not). None: an error that lists why each entry was refused.
template <typename Perf, typename Candidate, typename Workspace>
std::vector<Candidate> candidates(const std::string& where, const char* direction, const std::vector<Perf>& perfs,
                                  bool deterministic, bool tensor_ops, size_t limit, bool (*plain)(int),
                                  const char* (*name)(int), decltype(Perf::algo) fallback,
                                  const Workspace& workspace_of) {
  std::vector<Candidate> out;
  const auto add = [&](const Perf& p, bool det) {
    for (const Candidate& c : out)
      if (c.algo == int(p.algo)) return;
    out.push_back({int(p.algo), p.mathType, p.memory, det});
  };
  std::vector<Perf> rest = perfs;
  std::string tried;
  Perf p{};
  while (!rest.empty()) {  // pick() returns the first that passes; drop everything up to it
    std::string why;
    if (!pick(rest, deterministic, !tensor_ops, limit, plain, name, &p, &why)) {
      if (out.empty()) tried = why;
      break;
    }
    add(p, p.determinism == CUDNN_DETERMINISTIC);
    rest.erase(rest.begin(),
               std::find_if(rest.begin(), rest.end(), [&](const Perf& q) { return q.algo == p.algo; }) + 1);
  }
  // Not if the heuristics listed the default as unsupported here: its workspace query may still succeed.
  const bool refused = std::any_of(perfs.begin(), perfs.end(), [&](const Perf& q) {
    return q.algo == fallback && q.status != CUDNN_STATUS_SUCCESS;
  });
  Perf d{};
  d.algo = fallback;
  d.mathType = tensor_ops ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  if (!refused && workspace_of(fallback, &d.memory) == CUDNN_STATUS_SUCCESS && d.memory <= limit) add(d, true);
  if (deterministic) {
    rest = perfs;
    std::string ignored;
    while (pick(rest, false, !tensor_ops, limit, plain, name, &p, &ignored)) {
      if (p.determinism != CUDNN_DETERMINISTIC) add(p, false);
      rest.erase(rest.begin(),
                 std::find_if(rest.begin(), rest.end(), [&](const Perf& q) { return q.algo == p.algo; }) + 1);
    }
  }
  if (out.empty())
    fail(where, ": cuDNN offers no usable ", direction, " algorithm (", deterministic ? "deterministic, " : "",
         tensor_ops ? "tensor-op math" : "strict fp32", ", workspace up to ", mib(limit), "): ", tried);
  if (deterministic && !out.front().deterministic)
    std::fprintf(stderr,
                 "warning: %s: cuDNN has no deterministic %s algorithm here; using %s, so reruns may differ "
                 "in the last bits\n",
                 where.c_str(), direction, name(out.front().algo));
  return out;
}

}  // namespace

ConvLayer::ConvLayer(const CudaContext& ctx, const std::string& name, const ConvShape& s, bool deterministic,
                     bool search, size_t workspace_limit, cudnnDataType_t type)
    : ctx_(ctx),
      s_(s),
      search_(search),
      deterministic_(deterministic),
      type_(type),
      tensor_ops_(ctx.tf32() || type == CUDNN_DATA_BFLOAT16) {
  where_ =
      name + " (Conv2D, input (" + std::to_string(s.n) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) +
      ", " + std::to_string(s.c) + "), kernel " + std::to_string(s.k) + "x" + std::to_string(s.k) + ", " +
      std::to_string(s.f) + " filters" + (s.stride != 1 ? ", stride " + std::to_string(s.stride) : std::string()) +
      (s.pad_h || s.pad_w ? ", padding " + std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w) : std::string()) +
      (type == CUDNN_DATA_BFLOAT16 ? ", bf16" : "") + ")";
  if (s.n <= 0 || s.c <= 0 || s.f <= 0 || s.k <= 0 || s.stride <= 0 || s.pad_h < 0 || s.pad_w < 0 ||
      s.h + 2 * s.pad_h < s.k || s.w + 2 * s.pad_w < s.k)
    fail(where_, ": the kernel does not fit the input, or a dimension is not positive");
  // Before cuDNN sees the shape: its own refusal would be a bare status without the batch that fits.
  if (s.n > max_batch(s)) {
    const bool input = int64_t(s.h) * s.w * s.c >= int64_t(s.oh()) * s.ow() * s.f;
    const int64_t elements = int64_t(s.n) * (input ? int64_t(s.h) * s.w * s.c : int64_t(s.oh()) * s.ow() * s.f);
    fail(where_, ": ", input ? "input" : "output", " (", s.n, ", ", input ? s.h : s.oh(), ", ", input ? s.w : s.ow(),
         ", ", input ? s.c : s.f, ") has ", elements, " elements, over cuDNN's limit of 2^31 - 1 per tensor; the ",
         "largest batch that fits is ", max_batch(s), " ; use --batch-size ", max_batch(s), " or less");
  }
  fwd_.pass = "forward";
  fwd_.name = fwd_name;
  data_.pass = "backward-data";
  data_.name = data_name;
  filter_.pass = "backward-filter";
  filter_.name = filter_name;
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
  for (Direction* d : {&fwd_, &data_, &filter_}) {
    if (d->desc) CUDA_LOG(cudnnDestroyConvolutionDescriptor(d->desc));
    d->desc = nullptr;
  }
  x_desc_ = y_desc_ = nullptr;
  w_desc_ = nullptr;
}

long ConvLayer::max_batch(const ConvShape& s) {
  const int64_t per_image = std::max(int64_t(s.h) * s.w * s.c, int64_t(s.oh()) * s.ow() * s.f);
  return per_image > 0 ? long(kMaxTensorElements / per_image) : 0;
}

std::string ConvLayer::Direction::text(size_t i) const {
  return std::string(name(candidates[i].algo)) + " (" + math_name(candidates[i].math) + ")";
}

void ConvLayer::build(bool deterministic, size_t limit) {
  CUDNN_CHECK_IN(where_, cudnnCreateTensorDescriptor(&x_desc_));
  CUDNN_CHECK_IN(where_, cudnnCreateTensorDescriptor(&y_desc_));
  CUDNN_CHECK_IN(where_, cudnnCreateFilterDescriptor(&w_desc_));
  CUDNN_CHECK_IN(where_,
                 cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NHWC, type_, s_.n, s_.c, s_.h, s_.w));
  CUDNN_CHECK_IN(where_, cudnnSetFilter4dDescriptor(w_desc_, type_, CUDNN_TENSOR_NHWC, s_.f, s_.c, s_.k, s_.k));
  for (cudnnConvolutionDescriptor_t* d : {&fwd_.desc, &data_.desc, &filter_.desc}) {
    CUDNN_CHECK_IN(where_, cudnnCreateConvolutionDescriptor(d));
    CUDNN_CHECK_IN(where_, cudnnSetConvolution2dDescriptor(*d, s_.pad_h, s_.pad_w, s_.stride, s_.stride, 1, 1,
                                                           CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    // Strict: FMA kernels only. TF32 and bf16: tensor cores allowed (never fp16 down-conversion).
    // The compute type is float32 for bf16 tensors too (float32 accumulation).
    CUDNN_CHECK_IN(where_, cudnnSetConvolutionMathType(*d, tensor_ops_ ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  }
  int n = 0, c = 0, h = 0, w = 0;
  CUDNN_CHECK_IN(where_, cudnnGetConvolution2dForwardOutputDim(fwd_.desc, x_desc_, w_desc_, &n, &c, &h, &w));
  if (n != s_.n || c != s_.f || h != s_.oh() || w != s_.ow())
    fail(where_, ": cuDNN computes an output of (", n, ", ", h, ", ", w, ", ", c, "), the graph expects (", s_.n, ", ",
         s_.oh(), ", ", s_.ow(), ", ", s_.f, ")");
  CUDNN_CHECK_IN(where_, cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NHWC, type_, n, c, h, w));
  choose_forward(deterministic, limit);
  choose_backward_data(deterministic, limit);
  choose_backward_filter(deterministic, limit);
}

bool ConvLayer::capturing() const {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_CHECK(cudaStreamIsCapturing(ctx_.stream(), &status));
  return status != cudaStreamCaptureStatusNone;
}

// Timing runs kernels and synchronises: never inside a CUDA-graph capture (a plan made then takes
// the heuristics' choice).
bool ConvLayer::searching() const { return search_ && !capturing(); }

bool ConvLayer::adopt(Direction& d, size_t room) {
  const Candidate& c = d.candidates[d.at];
  CUDNN_CHECK_IN(where_, cudnnSetConvolutionMathType(d.desc, c.math));
  // Asked again under the math type just set (the heuristics measured under theirs); the larger counts.
  size_t ws = 0;
  CUDNN_CHECK_IN(where_, d.workspace_of(c.algo, &ws));
  ws = std::max(ws, c.memory);
  if (ws > room) {
    d.refused +=
        (d.refused.empty() ? "" : ", ") + d.text(d.at) + ": workspace " + mib(ws) + " over the " + mib(room) + " given";
    return false;
  }
  d.ws = ws;
  return true;
}

void ConvLayer::execute(Direction& d, size_t ws_bytes, const char* call_text, int line,
                        const std::function<cudnnStatus_t(int)>& call) {
  for (;;) {
    if (d.exhausted()) fail(where_, ": cuDNN refused every usable ", d.pass, " algorithm at execution: ", d.refused);
    check_workspace(d.ws, ws_bytes);
    const cudnnStatus_t status = call(d.candidates[d.at].algo);
    if (status == CUDNN_STATUS_SUCCESS) return;
    if (!refused_at_execution(status)) cuda_detail::check_in(where_, status, call_text, __FILE__, line);
    // A launch cuDNN saw fail may have left the runtime's last error set; the next kernel's
    // CUDA_CHECK_LAUNCH must not report it as its own.
    (void)cudaGetLastError();
    // A sticky error (a lost context: an illegal address, say) outlives that call; then no algorithm
    // can run, and trying the others would only blame them.
    CUDA_CHECK_IN(where_, cudaPeekAtLastError());
    const std::string why = cuda_detail::why(status), refused = d.text(d.at);
    // Another algorithm inside a capture would be recorded after a failed call, or make cuDNN
    // allocate or synchronise there: the capture is dropped instead and the eager run falls back.
    if (capturing())
      fail(where_, ": cuDNN refused the ", d.pass, " algorithm ", refused, " during a CUDA-graph capture (", why,
           "); the step runs eagerly instead, which takes the next algorithm");
    d.refused += (d.refused.empty() ? "" : ", ") + refused + ": " + why;
    while (++d.at < d.candidates.size() && !adopt(d, ws_bytes)) {
    }
    if (d.exhausted()) continue;  // fails above, listing them all
    const Candidate& next = d.candidates[d.at];
    std::fprintf(
        stderr, "warning: %s: cuDNN refused the %s algorithm %s at execution (%s); using %s from now on%s\n",
        where_.c_str(), d.pass, refused.c_str(), why.c_str(), d.text(d.at).c_str(),
        deterministic_ && !next.deterministic ? " (non-deterministic: reruns may differ in the last bits)" : "");
  }
}

// With search, cudnnFind* runs every algorithm on buffers it allocates itself and returns them
// fastest first; pick() then applies the same filters as to the heuristics' list.
void ConvLayer::choose_forward(bool deterministic, size_t limit) {
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
  int count = 0;
  if (searching())
    CUDNN_CHECK_IN(where_, cudnnFindConvolutionForwardAlgorithm(ctx_.cudnn(), x_desc_, w_desc_, fwd_.desc, y_desc_,
                                                                int(perfs.size()), &count, perfs.data()));
  else
    CUDNN_CHECK_IN(where_, cudnnGetConvolutionForwardAlgorithm_v7(ctx_.cudnn(), x_desc_, w_desc_, fwd_.desc, y_desc_,
                                                                  int(perfs.size()), &count, perfs.data()));
  perfs.resize(size_t(count));
  fwd_.workspace_of = [this](int a, size_t* ws) {
    return cudnnGetConvolutionForwardWorkspaceSize(ctx_.cudnn(), x_desc_, w_desc_, fwd_.desc, y_desc_,
                                                   cudnnConvolutionFwdAlgo_t(a), ws);
  };
  fwd_.candidates = candidates<cudnnConvolutionFwdAlgoPerf_t, Candidate>(
      where_, fwd_.pass, perfs, deterministic, tensor_ops_, limit, plain_fwd, fwd_name,
      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
      [&](cudnnConvolutionFwdAlgo_t a, size_t* ws) { return fwd_.workspace_of(int(a), ws); });
  adopt(fwd_, SIZE_MAX);
}

void ConvLayer::choose_backward_data(bool deterministic, size_t limit) {
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
  int count = 0;
  if (searching())
    CUDNN_CHECK_IN(where_, cudnnFindConvolutionBackwardDataAlgorithm(ctx_.cudnn(), w_desc_, y_desc_, data_.desc,
                                                                     x_desc_, int(perfs.size()), &count, perfs.data()));
  else
    CUDNN_CHECK_IN(where_,
                   cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx_.cudnn(), w_desc_, y_desc_, data_.desc, x_desc_,
                                                               int(perfs.size()), &count, perfs.data()));
  perfs.resize(size_t(count));
  data_.workspace_of = [this](int a, size_t* ws) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(ctx_.cudnn(), w_desc_, y_desc_, data_.desc, x_desc_,
                                                        cudnnConvolutionBwdDataAlgo_t(a), ws);
  };
  data_.candidates = candidates<cudnnConvolutionBwdDataAlgoPerf_t, Candidate>(
      where_, data_.pass, perfs, deterministic, tensor_ops_, limit, plain_data, data_name,
      CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
      [&](cudnnConvolutionBwdDataAlgo_t a, size_t* ws) { return data_.workspace_of(int(a), ws); });
  adopt(data_, SIZE_MAX);
}

void ConvLayer::choose_backward_filter(bool deterministic, size_t limit) {
  std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
  int count = 0;
  if (searching())
    CUDNN_CHECK_IN(where_,
                   cudnnFindConvolutionBackwardFilterAlgorithm(ctx_.cudnn(), x_desc_, y_desc_, filter_.desc, w_desc_,
                                                               int(perfs.size()), &count, perfs.data()));
  else
    CUDNN_CHECK_IN(where_,
                   cudnnGetConvolutionBackwardFilterAlgorithm_v7(ctx_.cudnn(), x_desc_, y_desc_, filter_.desc, w_desc_,
                                                                 int(perfs.size()), &count, perfs.data()));
  perfs.resize(size_t(count));
  filter_.workspace_of = [this](int a, size_t* ws) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(ctx_.cudnn(), x_desc_, y_desc_, filter_.desc, w_desc_,
                                                          cudnnConvolutionBwdFilterAlgo_t(a), ws);
  };
  filter_.candidates = candidates<cudnnConvolutionBwdFilterAlgoPerf_t, Candidate>(
      where_, filter_.pass, perfs, deterministic, tensor_ops_, limit, plain_filter, filter_name,
      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
      [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* ws) { return filter_.workspace_of(int(a), ws); });
  adopt(filter_, SIZE_MAX);
}

size_t ConvLayer::workspace_bytes() const { return std::max(fwd_.ws, std::max(data_.ws, filter_.ws)); }

std::string ConvLayer::algorithms() const {
  std::string out;
  for (const Direction* d : {&fwd_, &data_, &filter_}) {
    const char* label = d == &fwd_ ? "fwd " : d == &data_ ? ", bwd-data " : ", bwd-filter ";
    out += label + (d->exhausted() ? std::string("none left") : d->text(d->at));
  }
  return type_ == CUDNN_DATA_BFLOAT16 ? "bf16 tensors: " + out : out;
}

void ConvLayer::check_workspace(size_t need, size_t have) const {
  if (have < need) fail(where_, ": needs ", need, " bytes of workspace, was given ", have);
}

void ConvLayer::forward(const void* x, const void* w, void* y, void* ws, size_t ws_bytes) {
  const float one = 1.f, zero = 0.f;
  execute(fwd_, ws_bytes, "cudnnConvolutionForward", __LINE__, [&](int algo) {
    return cudnnConvolutionForward(ctx_.cudnn(), &one, x_desc_, x, w_desc_, w, fwd_.desc,
                                   cudnnConvolutionFwdAlgo_t(algo), ws, ws_bytes, &zero, y_desc_, y);
  });
}

void ConvLayer::backward_data(const void* w, const void* dy, void* dx, void* ws, size_t ws_bytes) {
  const float one = 1.f, zero = 0.f;
  execute(data_, ws_bytes, "cudnnConvolutionBackwardData", __LINE__, [&](int algo) {
    return cudnnConvolutionBackwardData(ctx_.cudnn(), &one, w_desc_, w, y_desc_, dy, data_.desc,
                                        cudnnConvolutionBwdDataAlgo_t(algo), ws, ws_bytes, &zero, x_desc_, dx);
  });
}

void ConvLayer::backward_filter(const void* x, const void* dy, void* dw, void* ws, size_t ws_bytes) {
  const float one = 1.f, zero = 0.f;
  execute(filter_, ws_bytes, "cudnnConvolutionBackwardFilter", __LINE__, [&](int algo) {
    return cudnnConvolutionBackwardFilter(ctx_.cudnn(), &one, x_desc_, x, y_desc_, dy, filter_.desc,
                                          cudnnConvolutionBwdFilterAlgo_t(algo), ws, ws_bytes, &zero, w_desc_, dw);
  });
}

}  // namespace acts
