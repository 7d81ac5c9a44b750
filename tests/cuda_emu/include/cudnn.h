// Stand-in for the part of cuDNN runtime/ops/conv2d/conv2d_cuda_layer.cpp uses (see ../cuda_emu.h), written
// from cuDNN's documented semantics: 4-D float tensors in NHWC, filters in NHWC = (K, R, S, C),
// or bf16 ones (x, w and y all bf16, a float compute type: cuDNN's PSEUDO_BFLOAT16 configuration;
// the result rounded to bf16 when stored),
// 2-D cross-correlation, y = alpha * op + beta * y (y not read when beta = 0), a workspace
// smaller than the chosen algorithm's size refused with CUDNN_STATUS_BAD_PARAM. Math in double;
// a descriptor whose math type is not CUDNN_FMA_MATH rounds the operands to TF32 first (what
// tensor cores do). The algorithm queries offer three candidates, fastest first: an FFT one (not
// plain fp32: strict mode must skip it), a GEMM one and a second plain one (non-deterministic for
// the backward passes, as cuDNN's ALGO_0 is), so the caller's filters and fallbacks are exercised.
// Status codes are cuDNN 9's. Test hook: acts_emu::dnn::refuse() makes the execution of one
// algorithm fail as cuDNN does when a kernel it offered cannot run on the device.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda_bf16.h"
#include "cuda_runtime_api.h"

#define CUDNN_MAJOR 0
#define CUDNN_MINOR 0
#define CUDNN_PATCHLEVEL 0

enum cudnnStatus_t {  // cuDNN 9's values: a category (thousands) plus a specific error
  CUDNN_STATUS_SUCCESS = 0,
  CUDNN_STATUS_BAD_PARAM = 2000,
  CUDNN_STATUS_NOT_SUPPORTED = 3000,
  CUDNN_STATUS_NOT_SUPPORTED_SHAPE = 3002,
  CUDNN_STATUS_EXECUTION_FAILED = 5000,
  CUDNN_STATUS_EXECUTION_FAILED_CUDART = 5003,
};
#define CUDNN_STATUS_CATEGORY(full_error_code) ((full_error_code) / 1000 * 1000)
enum cudnnDataType_t { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_BFLOAT16 = 9 };  // cuDNN's values
enum cudnnTensorFormat_t { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1 };
enum cudnnConvolutionMode_t { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 };
enum cudnnMathType_t {
  CUDNN_DEFAULT_MATH = 0,
  CUDNN_TENSOR_OP_MATH = 1,
  CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
  CUDNN_FMA_MATH = 3
};
enum cudnnDeterminism_t { CUDNN_NON_DETERMINISTIC = 0, CUDNN_DETERMINISTIC = 1 };
enum cudnnConvolutionFwdAlgo_t {
  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0,
  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
  CUDNN_CONVOLUTION_FWD_ALGO_GEMM = 2,
  CUDNN_CONVOLUTION_FWD_ALGO_DIRECT = 3,
  CUDNN_CONVOLUTION_FWD_ALGO_FFT = 4,
  CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING = 5,
  CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD = 6,
  CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED = 7,
  CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8
};
enum cudnnConvolutionBwdDataAlgo_t {
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 = 0,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 = 1,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT = 2,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING = 3,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD = 4,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED = 5,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT = 6
};
enum cudnnConvolutionBwdFilterAlgo_t {
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 = 0,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 = 1,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT = 2,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 = 3,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD = 4,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED = 5,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING = 6,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT = 7
};
template <typename Algo>
struct cudnnAlgoPerfEmu {
  Algo algo;
  cudnnStatus_t status;
  float time;
  size_t memory;
  cudnnDeterminism_t determinism;
  cudnnMathType_t mathType;
  int reserved[3];
};
using cudnnConvolutionFwdAlgoPerf_t = cudnnAlgoPerfEmu<cudnnConvolutionFwdAlgo_t>;
using cudnnConvolutionBwdDataAlgoPerf_t = cudnnAlgoPerfEmu<cudnnConvolutionBwdDataAlgo_t>;
using cudnnConvolutionBwdFilterAlgoPerf_t = cudnnAlgoPerfEmu<cudnnConvolutionBwdFilterAlgo_t>;

struct cudnnContext {
  cudaStream_t stream = nullptr;
};
struct cudnnTensorStruct {
  int n = 0, c = 0, h = 0, w = 0;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
};
struct cudnnFilterStruct {
  int k = 0, c = 0, h = 0, w = 0;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
};
struct cudnnConvolutionStruct {
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  cudnnConvolutionMode_t mode = CUDNN_CONVOLUTION;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
};
using cudnnHandle_t = cudnnContext*;
using cudnnTensorDescriptor_t = cudnnTensorStruct*;
using cudnnFilterDescriptor_t = cudnnFilterStruct*;
using cudnnConvolutionDescriptor_t = cudnnConvolutionStruct*;

inline const char* cudnnGetErrorString(cudnnStatus_t s) {
  switch (s) {
    case CUDNN_STATUS_SUCCESS:
      return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_BAD_PARAM:
      return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_NOT_SUPPORTED:
      return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_NOT_SUPPORTED_SHAPE:
      return "CUDNN_STATUS_NOT_SUPPORTED_SHAPE";
    case CUDNN_STATUS_EXECUTION_FAILED:
      return "CUDNN_STATUS_EXECUTION_FAILED";
    case CUDNN_STATUS_EXECUTION_FAILED_CUDART:
      return "CUDNN_STATUS_EXECUTION_FAILED_CUDART";
  }
  return "CUDNN_STATUS_UNKNOWN";
}
inline size_t cudnnGetVersion() { return 0; }
inline cudnnStatus_t cudnnCreate(cudnnHandle_t* h) { return *h = new cudnnContext, CUDNN_STATUS_SUCCESS; }
inline cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { return delete h, CUDNN_STATUS_SUCCESS; }
inline cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) { return h->stream = s, CUDNN_STATUS_SUCCESS; }
inline cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) {
  return *d = new cudnnTensorStruct, CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { return delete d, CUDNN_STATUS_SUCCESS; }
inline cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* d) {
  return *d = new cudnnFilterStruct, CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { return delete d, CUDNN_STATUS_SUCCESS; }
inline cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* d) {
  return *d = new cudnnConvolutionStruct, CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) {
  return delete d, CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t,
                                                int n, int c, int h, int w) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  // The legacy API's limit: 2 giga-elements per tensor (int32 element offsets).
  if (int64_t(n) * c * h * w > INT32_MAX) return CUDNN_STATUS_NOT_SUPPORTED_SHAPE;
  *d = {n, c, h, w, f, t};
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f,
                                                int k, int c, int h, int w) {
  if (k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  *d = {k, c, h, w, f, t};
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                                     int dil_h, int dil_w, cudnnConvolutionMode_t mode,
                                                     cudnnDataType_t compute) {
  d->pad_h = pad_h, d->pad_w = pad_w, d->u = u, d->v = v, d->dil_h = dil_h, d->dil_w = dil_w, d->mode = mode;
  d->compute = compute;
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m) {
  return d->math = m, CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t c, cudnnTensorDescriptor_t x,
                                                           cudnnFilterDescriptor_t w, int* n, int* k, int* h, int* wo) {
  if (x->c != w->c) return CUDNN_STATUS_BAD_PARAM;
  *n = x->n;
  *k = w->k;
  *h = (x->h + 2 * c->pad_h - (w->h - 1) * c->dil_h - 1) / c->u + 1;
  *wo = (x->w + 2 * c->pad_w - (w->w - 1) * c->dil_w - 1) / c->v + 1;
  return CUDNN_STATUS_SUCCESS;
}

namespace acts_emu::dnn {

constexpr size_t kFftWorkspace = size_t(3) << 20, kGemmWorkspace = size_t(1) << 20;

// The convolutions this stand-in computes: NHWC, (K, R, S, C) filters, cuDNN's symmetric zero
// padding and strides, no dilation, x, w and y of one type (float, or bf16) and a float compute
// type. Output (oh, ow) reads input (oh * u - pad_h + r, ow * v - pad_w + s).
inline bool supported(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
                      cudnnTensorDescriptor_t y) {
  return x->type == w->type && x->type == y->type && c->compute == CUDNN_DATA_FLOAT && x->format == CUDNN_TENSOR_NHWC && w->format == CUDNN_TENSOR_NHWC && y->format == CUDNN_TENSOR_NHWC &&
         c->mode == CUDNN_CROSS_CORRELATION && c->pad_h >= 0 && c->pad_w >= 0 && c->u >= 1 && c->v >= 1 &&
         c->dil_h == 1 && c->dil_w == 1 && x->n == y->n && x->c == w->c && y->c == w->k &&
         y->h == (x->h + 2 * c->pad_h - w->h) / c->u + 1 && y->w == (x->w + 2 * c->pad_w - w->w) / c->v + 1;
}
// The input offset of (n, oh * u - pad_h + r, ow * v - pad_w + s), or -1 in the padding.
inline long long tap(const cudnnTensorStruct& X, const cudnnConvolutionStruct& C, int n, int oh, int ow, int r, int s) {
  const int ih = oh * C.u - C.pad_h + r, iw = ow * C.v - C.pad_w + s;
  if (ih < 0 || ih >= X.h || iw < 0 || iw >= X.w) return -1;
  return ((static_cast<long long>(n) * X.h + ih) * X.w + iw) * X.c;
}

// float -> TF32 (10 explicit mantissa bits, round to nearest), as a tensor core reads it.
inline double tf32(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & ~0x1fffu;
  float r;
  std::memcpy(&r, &b, 4);
  return r;
}
inline double operand(float v, bool tensor_op) { return tensor_op ? tf32(v) : double(v); }

template <typename Perf, typename Algo>
cudnnStatus_t offer(Algo fft, Algo gemm, Algo other, cudnnDeterminism_t other_determinism,
                    cudnnConvolutionDescriptor_t c, int requested, int* returned, Perf* out) {
  const cudnnMathType_t plain = c->math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
  const Perf all[3] = {{fft, CUDNN_STATUS_SUCCESS, 0.5f, kFftWorkspace, CUDNN_DETERMINISTIC, CUDNN_DEFAULT_MATH, {}},
                       {gemm, CUDNN_STATUS_SUCCESS, 1.f, kGemmWorkspace, CUDNN_DETERMINISTIC, plain, {}},
                       {other, CUDNN_STATUS_SUCCESS, 2.f, kGemmWorkspace, other_determinism, plain, {}}};
  *returned = requested < 3 ? requested : 3;
  for (int i = 0; i < *returned; ++i) out[i] = all[i];
  return CUDNN_STATUS_SUCCESS;
}

// The test hook: while set, executing `algo` in `pass` returns `status` instead of running.
enum class Pass { Forward, BackwardData, BackwardFilter };
struct Refusal {
  Pass pass;
  int algo;
  cudnnStatus_t status;
  int calls = 0;  // how often it refused
};
inline std::vector<Refusal>& refusals() {
  static std::vector<Refusal> r;
  return r;
}
inline void refuse(Pass pass, int algo, cudnnStatus_t status) { refusals().push_back({pass, algo, status}); }
inline void clear_refusals() { refusals().clear(); }
inline cudnnStatus_t refusal(Pass pass, int algo) {
  for (Refusal& r : refusals())
    if (r.pass == pass && r.algo == algo) return ++r.calls, r.status;
  return CUDNN_STATUS_SUCCESS;
}
inline size_t workspace(int algo, int fft) { return algo == fft ? kFftWorkspace : kGemmWorkspace; }

}  // namespace acts_emu::dnn

inline cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t, cudnnTensorDescriptor_t,
                                                            cudnnFilterDescriptor_t, cudnnConvolutionDescriptor_t c,
                                                            cudnnTensorDescriptor_t, int req, int* ret,
                                                            cudnnConvolutionFwdAlgoPerf_t* p) {
  return acts_emu::dnn::offer(CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                              CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_DETERMINISTIC, c, req, ret, p);
}
inline cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t, cudnnFilterDescriptor_t,
                                                                 cudnnTensorDescriptor_t,
                                                                 cudnnConvolutionDescriptor_t c,
                                                                 cudnnTensorDescriptor_t, int req, int* ret,
                                                                 cudnnConvolutionBwdDataAlgoPerf_t* p) {
  return acts_emu::dnn::offer(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                              CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_NON_DETERMINISTIC, c, req, ret, p);
}
inline cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t, cudnnTensorDescriptor_t,
                                                                   cudnnTensorDescriptor_t,
                                                                   cudnnConvolutionDescriptor_t c,
                                                                   cudnnFilterDescriptor_t, int req, int* ret,
                                                                   cudnnConvolutionBwdFilterAlgoPerf_t* p) {
  return acts_emu::dnn::offer(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_NON_DETERMINISTIC, c, req, ret, p);
}
// cudnnFind* times the same candidates (here: offers them in the same order); never in a capture.
inline cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(cudnnHandle_t h, cudnnTensorDescriptor_t x,
                                                          cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
                                                          cudnnTensorDescriptor_t y, int req, int* ret,
                                                          cudnnConvolutionFwdAlgoPerf_t* p) {
  if (acts_emu::forbidden_in_capture()) return CUDNN_STATUS_NOT_SUPPORTED;
  return cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, c, y, req, ret, p);
}
inline cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(cudnnHandle_t h, cudnnFilterDescriptor_t w,
                                                               cudnnTensorDescriptor_t dy,
                                                               cudnnConvolutionDescriptor_t c,
                                                               cudnnTensorDescriptor_t dx, int req, int* ret,
                                                               cudnnConvolutionBwdDataAlgoPerf_t* p) {
  if (acts_emu::forbidden_in_capture()) return CUDNN_STATUS_NOT_SUPPORTED;
  return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w, dy, c, dx, req, ret, p);
}
inline cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(cudnnHandle_t h, cudnnTensorDescriptor_t x,
                                                                 cudnnTensorDescriptor_t dy,
                                                                 cudnnConvolutionDescriptor_t c,
                                                                 cudnnFilterDescriptor_t dw, int req, int* ret,
                                                                 cudnnConvolutionBwdFilterAlgoPerf_t* p) {
  if (acts_emu::forbidden_in_capture()) return CUDNN_STATUS_NOT_SUPPORTED;
  return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x, dy, c, dw, req, ret, p);
}
inline cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t, cudnnTensorDescriptor_t,
                                                             cudnnFilterDescriptor_t, cudnnConvolutionDescriptor_t,
                                                             cudnnTensorDescriptor_t, cudnnConvolutionFwdAlgo_t a,
                                                             size_t* bytes) {
  return *bytes = acts_emu::dnn::workspace(a, CUDNN_CONVOLUTION_FWD_ALGO_FFT), CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t, cudnnFilterDescriptor_t,
                                                                  cudnnTensorDescriptor_t, cudnnConvolutionDescriptor_t,
                                                                  cudnnTensorDescriptor_t,
                                                                  cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
  return *bytes = acts_emu::dnn::workspace(a, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT), CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t, cudnnTensorDescriptor_t,
                                                                    cudnnTensorDescriptor_t,
                                                                    cudnnConvolutionDescriptor_t,
                                                                    cudnnFilterDescriptor_t,
                                                                    cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
  return *bytes = acts_emu::dnn::workspace(a, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT), CUDNN_STATUS_SUCCESS;
}

namespace acts_emu::dnn {
// The operands as double (TF32-rounded under tensor-op math; a bf16 value is a TF32 one): every
// element read once, here.
inline std::vector<double> operands(const void* p, cudnnDataType_t type, size_t n, bool tensor_op) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = type == CUDNN_DATA_BFLOAT16 ? double(__bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]))
                                       : operand(static_cast<const float*>(p)[i], tensor_op);
  return v;
}
// out = alpha acc + beta out, in float, then rounded to bf16 for a bf16 tensor.
inline void store(void* out, cudnnDataType_t type, const std::vector<double>& acc, float alpha, float beta) {
  for (size_t i = 0; i < acc.size(); ++i) {
    if (type == CUDNN_DATA_BFLOAT16) {
      __nv_bfloat16& o = static_cast<__nv_bfloat16*>(out)[i];
      o = __float2bfloat16_rn(float(alpha * acc[i] + (beta != 0 ? beta * double(__bfloat162float(o)) : 0.0)));
    } else {
      float& o = static_cast<float*>(out)[i];
      o = float(alpha * acc[i] + (beta != 0 ? beta * double(o) : 0.0));
    }
  }
}
inline size_t count(const cudnnTensorStruct& t) { return size_t(t.n) * t.h * t.w * t.c; }
inline size_t count(const cudnnFilterStruct& f) { return size_t(f.k) * f.h * f.w * f.c; }
}  // namespace acts_emu::dnn

// y (n, oh, ow, k) = alpha * sum_{r, s, c} x (n, oh u - pad_h + r, ow v - pad_w + s, c) w (k, r, s, c) + beta * y
inline cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void* alpha, cudnnTensorDescriptor_t xd,
                                             const void* xp, cudnnFilterDescriptor_t wd, const void* wp,
                                             cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t algo, void* ws,
                                             size_t ws_bytes, const void* beta, cudnnTensorDescriptor_t yd, void* yp) {
  using namespace acts_emu::dnn;
  if (!supported(xd, wd, cd, yd)) return CUDNN_STATUS_NOT_SUPPORTED;
  if (ws_bytes < workspace(algo, CUDNN_CONVOLUTION_FWD_ALGO_FFT) || !ws) return CUDNN_STATUS_BAD_PARAM;
  if (const cudnnStatus_t r = refusal(Pass::Forward, algo)) return r;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  const cudnnTensorStruct X = *xd, Y = *yd;
  const cudnnFilterStruct F = *wd;
  const cudnnConvolutionStruct CV = *cd;
  const bool tc = cd->math != CUDNN_FMA_MATH;
  acts_emu::submit(h->stream, [=] {
    const std::vector<double> x = operands(xp, X.type, count(X), tc), w = operands(wp, F.type, count(F), tc);
    std::vector<double> acc(count(Y), 0.0);
    for (int n = 0; n < Y.n; ++n)
      for (int oh = 0; oh < Y.h; ++oh)
        for (int ow = 0; ow < Y.w; ++ow)
          for (int k = 0; k < Y.c; ++k) {
            double sum = 0;
            for (int r = 0; r < F.h; ++r)
              for (int s = 0; s < F.w; ++s) {
                const long long at = tap(X, CV, n, oh, ow, r, s);
                if (at < 0) continue;
                const double* xr = &x[size_t(at)];
                const double* wr = &w[((size_t(k) * F.h + r) * F.w + s) * F.c];
                for (int c = 0; c < X.c; ++c) sum += xr[c] * wr[c];
              }
            acc[((size_t(n) * Y.h + oh) * Y.w + ow) * Y.c + k] = sum;
          }
    store(yp, Y.type, acc, a, b);
  });
  return CUDNN_STATUS_SUCCESS;
}

// dx = alpha * (the adjoint of the forward: each dy (n, oh, ow, k) w (k, r, s, c) to the x it read) + beta * dx
inline cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void* alpha, cudnnFilterDescriptor_t wd,
                                                  const void* wp, cudnnTensorDescriptor_t dyd, const void* dyp,
                                                  cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdDataAlgo_t algo,
                                                  void* ws, size_t ws_bytes, const void* beta,
                                                  cudnnTensorDescriptor_t dxd, void* dxp) {
  using namespace acts_emu::dnn;
  if (!supported(dxd, wd, cd, dyd)) return CUDNN_STATUS_NOT_SUPPORTED;
  if (ws_bytes < workspace(algo, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT) || !ws) return CUDNN_STATUS_BAD_PARAM;
  if (const cudnnStatus_t r = refusal(Pass::BackwardData, algo)) return r;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  const cudnnTensorStruct X = *dxd, Y = *dyd;
  const cudnnFilterStruct F = *wd;
  const cudnnConvolutionStruct CV = *cd;
  const bool tc = cd->math != CUDNN_FMA_MATH;
  acts_emu::submit(h->stream, [=] {
    const std::vector<double> w = operands(wp, F.type, count(F), tc), dy = operands(dyp, Y.type, count(Y), tc);
    std::vector<double> acc(count(X), 0.0);
    for (int n = 0; n < Y.n; ++n)
      for (int oh = 0; oh < Y.h; ++oh)
        for (int ow = 0; ow < Y.w; ++ow)
          for (int r = 0; r < F.h; ++r)
            for (int s = 0; s < F.w; ++s) {
              const long long at = tap(X, CV, n, oh, ow, r, s);
              if (at < 0) continue;
              double* out = &acc[size_t(at)];
              for (int k = 0; k < Y.c; ++k) {
                const double g = dy[((size_t(n) * Y.h + oh) * Y.w + ow) * Y.c + k];
                const double* wr = &w[((size_t(k) * F.h + r) * F.w + s) * F.c];
                for (int c = 0; c < X.c; ++c) out[c] += wr[c] * g;
              }
            }
    store(dxp, X.type, acc, a, b);
  });
  return CUDNN_STATUS_SUCCESS;
}

// dw (k, r, s, c) = alpha * sum_{n, oh, ow} x (n, oh u - pad_h + r, ow v - pad_w + s, c) dy (n, oh, ow, k) + beta * dw
inline cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void* alpha, cudnnTensorDescriptor_t xd,
                                                    const void* xp, cudnnTensorDescriptor_t dyd, const void* dyp,
                                                    cudnnConvolutionDescriptor_t cd,
                                                    cudnnConvolutionBwdFilterAlgo_t algo, void* ws, size_t ws_bytes,
                                                    const void* beta, cudnnFilterDescriptor_t dwd, void* dwp) {
  using namespace acts_emu::dnn;
  if (!supported(xd, dwd, cd, dyd)) return CUDNN_STATUS_NOT_SUPPORTED;
  if (ws_bytes < workspace(algo, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT) || !ws) return CUDNN_STATUS_BAD_PARAM;
  if (const cudnnStatus_t r = refusal(Pass::BackwardFilter, algo)) return r;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  const cudnnTensorStruct X = *xd, Y = *dyd;
  const cudnnFilterStruct F = *dwd;
  const cudnnConvolutionStruct CV = *cd;
  const bool tc = cd->math != CUDNN_FMA_MATH;
  acts_emu::submit(h->stream, [=] {
    const std::vector<double> x = operands(xp, X.type, count(X), tc), dy = operands(dyp, Y.type, count(Y), tc);
    std::vector<double> acc(count(F), 0.0);
    for (int n = 0; n < Y.n; ++n)
      for (int oh = 0; oh < Y.h; ++oh)
        for (int ow = 0; ow < Y.w; ++ow)
          for (int k = 0; k < Y.c; ++k) {
            const double g = dy[((size_t(n) * Y.h + oh) * Y.w + ow) * Y.c + k];
            for (int r = 0; r < F.h; ++r)
              for (int s = 0; s < F.w; ++s) {
                const long long at = tap(X, CV, n, oh, ow, r, s);
                if (at < 0) continue;
                const double* xr = &x[size_t(at)];
                double* out = &acc[((size_t(k) * F.h + r) * F.w + s) * F.c];
                for (int c = 0; c < X.c; ++c) out[c] += xr[c] * g;
              }
          }
    store(dwp, F.type, acc, a, b);
  });
  return CUDNN_STATUS_SUCCESS;
}
