// The CPU backend's fast path: the same ops as the reference kernels of kernels/cpu (same
// layouts, same results up to float summation order), built on oneDNN's convolutions (where the
// build has oneDNN) and OpenBLAS cblas_sgemm, run on the threads of thread_pool.h (the libraries
// themselves single-threaded inside each task).
//   Conv2D: any geometry of kernels/cpu/conv2d.h ('valid'/'same' padding, before and after
//   apart; a stride), the layer's relu fused in; oneDNN direct convolution, or im2col patches
//   (N*OH*OW, KH*KW*C) x kernel (KH*KW*C, F).
//   Dense:  x (N, I) x W (I, O).
//   MaxPooling2D: loops ordered so the channel loop is innermost and vectorises; backward routes
//   each gradient to the FIRST maximum of its window in row-major order, exactly as the reference.
// Results do not depend on the number of threads.
// Builds without OpenBLAS too: then available() is false and CpuBackend keeps the reference loops.
// `scratch` is caller-owned working memory (im2col patches, per-group partial sums), grown on
// demand and reused.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/pool2d_shape.h"

namespace acts::cpu_fast {

// True when this build has OpenBLAS; `why` says why not.
bool available(std::string* why = nullptr);
// "oneDNN 2.6.3 convolutions, OpenBLAS 0.3.21 sgemm, on 2 threads" (or why there is no fast path).
std::string describe();
// Makes OpenBLAS run each call on the calling thread (once per process; the pool does threads).
void single_threaded_blas();

// x (N, H, W, C)  k (KH, KW, C, F)  b (F) or null  ->  y (N, OH, OW, F), relu'd when `relu`.
// Runs conv_paths().forward's implementation; the backward, conv_paths().backward's.
// `bf16`: x, k and dy hold bf16 values (float32s with zero low halves: the mixed-precision
// backend rounds them so); where conv_bf16() is true they go to oneDNN's bf16 kernels, elsewhere
// to the float32 ones; the products are exact either way and the outputs float32. `round`: y and
// dx come back rounded to bf16 (the mixed-precision backend's rounding points, done here: on the
// bf16 kernels piece by piece, in cache); dk and db stay float32. Not for a conv whose
// activation comes after (a sigmoid's input must not be rounded first).
void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    bool bf16, bool round, float* y, std::vector<float>& scratch);
// dy (N, OH, OW, F) -> dx (N, H, W, C) (skipped when null), dk (KH, KW, C, F) (skipped when
// null: an input gradient alone), db (F) (skipped when null: no bias, or no dk); all
// overwritten; dk and db are sums over the batch, as in the reference. With `relu_y` (the
// forward's relu'd output y), dy is the gradient at relu's output and is first taken through the
// relu IN PLACE (dy = y > 0 ? dy : 0); without it dy is only read.
void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     bool bf16, bool round, float* dx, float* dk, float* db, std::vector<float>& scratch);

// The two convolutions behind those (same signatures, same contract):
//   gemm:   im2col + OpenBLAS sgemm (conv2d_gemm.cpp);
//   onednn: oneDNN's direct kernels (conv2d_onednn.cpp), a training step ~1.5x faster on a
//           2-core AVX-512 Xeon; only in builds with oneDNN (libdnnl-dev).
enum class ConvPath { gemm, onednn };
// Which path each pass runs, fixed per process by the build and the CPU, never by timing (so a
// machine always gives the same bits): the forward on oneDNN where the build has it; the backward
// on oneDNN where the CPU has AVX-512, else on im2col + OpenBLAS, since oneDNN 2.6's AVX2
// backward-weights kernels are the slower of the two there (docs/benchmarks.md, "CPU results").
// ACTS_CPU_CONV=gemm or =onednn puts both passes on one path (for A/B).
// winograd: the backward passes of oneDNN's 3x3 stride-1 convolutions (float32 operands) run as
// Winograd F(4x4, 3x3) where oneDNN has it (AVX-512, channels in multiples of 16): 2x faster,
// gradients float32-accurate but not the direct sums' (the forward stays direct:
// conv2d_onednn.cpp says why); ACTS_CPU_WINOGRAD=0 turns it off.
struct ConvPaths {
  ConvPath forward, backward;
  bool winograd = true;
};
ConvPaths conv_paths();
// For tests and benchmarks: false keeps every backward direct from now on; true goes back to
// ConvPaths::winograd.
void set_winograd(bool allowed);
// ConvPaths::winograd, unless set_winograd(false) said otherwise.
bool winograd_allowed();
// "oneDNN 2.6.3 convolutions", "im2col convolutions" or
// "oneDNN 2.6.3 convolutions (backward: im2col, no AVX-512)"
std::string conv_path_name();
// Whether bf16 operands (above) run on oneDNN's bf16 kernels, fixed per process: where the CPU
// has bf16 dot-product instructions (onednn::native_bf16()) and the convolutions are oneDNN's.
// ACTS_CPU_BF16=software keeps the float32 kernels; =onednn asks for the bf16 kernels wherever
// oneDNN has them (emulated on AVX-512 without AVX512-BF16: for tests, not speed).
bool conv_bf16();
// "oneDNN 2.6.3 bf16 convolutions (AVX512-BF16)", or why the float32 ones run bf16 operands.
std::string conv_bf16_name();

namespace gemm {
void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    float* y, std::vector<float>& scratch);
void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     float* dx, float* dk, float* db, std::vector<float>& scratch);
}  // namespace gemm

namespace onednn {
// True when this build has oneDNN; `why` says why not.
bool available(std::string* why = nullptr);
std::string version();  // "oneDNN 2.6.3"
// True when oneDNN JITs AVX-512 (avx512_core or better) kernels on this CPU.
bool has_avx512();
// True when this layer's float32 backward passes run as Winograd here (ConvPaths::winograd).
bool runs_winograd(const cpu::ConvGeometry& g);
// The bf16 dot-product instructions oneDNN uses here: "AMX", "AVX512-BF16", or "" for none.
std::string native_bf16();
// True when oneDNN has bf16 convolutions on this CPU: from AVX-512 up (below AVX512-BF16
// emulated, slower than float32); `why` says why not.
bool bf16_available(std::string* why = nullptr);
void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    float* y, std::vector<float>& scratch);
void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     float* dx, float* dk, float* db, std::vector<float>& scratch);
// The same on bf16 operands (x, k and dy bf16 values; y, dx, dk and db float32), through
// oneDNN's bf16 kernels; only where bf16_available().
void conv2d_forward_bf16(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                         float* y, std::vector<float>& scratch);
void conv2d_backward_bf16(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy,
                          const float* relu_y, float* dx, float* dk, float* db, std::vector<float>& scratch);
// The same with y and dx then rounded to bf16 (the mixed-precision backend's rounding points),
// piece by piece while each is in cache: what cpu_fast::conv2d_forward/backward run with bf16.
void conv2d_forward_bf16_rounded(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b,
                                 bool relu, float* y, std::vector<float>& scratch);
void conv2d_backward_bf16_rounded(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy,
                                  const float* relu_y, float* dx, float* dk, float* db, std::vector<float>& scratch);
}  // namespace onednn

// p[0, n) rounded to bf16 in place (kernels/cpu/bf16.h) across the pool's threads; elementwise,
// so the split changes nothing.
void round_bf16(float* p, size_t n);

// x (N, I)  w (I, O)  b (O)  ->  y (N, O)
void dense_forward(const float* x, int N, int I, const float* w, const float* b, int O, float* y);
// dy (N, O) -> dx (N, I), dw (I, O), db (O), each skipped when null; all overwritten.
void dense_backward(const float* x, int N, int I, const float* w, int O, const float* dy, float* dx, float* dw,
                    float* db);

// x (N, H, W, C) -> y (N, H/P, W/P, C); backward: dy -> dx (N, H, W, C), overwritten, given
// the forward's x and y. With `relu` (x is a relu's output) dx also goes back through that relu:
// the same as cpu::relu_backward(x, dx, dx) afterwards.
void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y);
void maxpool_backward(const float* x, const float* y, int N, int H, int W, int C, int P, const float* dy, bool relu,
                      float* dx);
// The same with a record of the forward, ws (N, H/P, W/P, C): each window's first maximum
// (i * P + j) and, in bit 7, whether it is > 0. The backward then reads ws and dy, not x and y:
// at the tutorial's max_pooling2d_1, 140 -> 74 MB a training step. Windows up to kMaxWsWindow.
constexpr int kMaxWsWindow = 128;
void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y, uint8_t* ws);
void maxpool_backward(const uint8_t* ws, int N, int H, int W, int C, int P, const float* dy, bool relu, float* dx);
// Any pool, stride and padding (overlapping windows accumulate, as the reference), one image per
// task. The (P, P, valid) calls above are the tutorial's faster case.
void maxpool_forward(const float* x, const Pool2dShape& g, float* y);
void maxpool_backward(const float* x, const float* y, const Pool2dShape& g, const float* dy, bool relu, float* dx);

}  // namespace acts::cpu_fast
