// Conv2D on the CPU with oneDNN's direct convolution kernels (jit/brgconv for AVX2/AVX-512),
// reading and writing our NHWC activations in place; only Keras' (KH, KW, C, F) kernel is
// reordered, into the blocked layout oneDNN's kernels want (at most 147 k values here). With a
// plain kernel layout oneDNN 2.6 offers only its own GEMM convolution, no faster than ours: the
// kernel's layout is what unlocks the direct kernels. Measured on the 2-core AVX-512 Xeon at
// batch 20 (bench --profile), against im2col + OpenBLAS (conv2d_gemm.cpp): the four
// convolutions' forward 129 -> 64 ms, backward (with relu's) 258 -> 215 ms; a training step
// 410-468 -> 277-310 ms.
//
// Threads: not oneDNN's. Its Debian build runs on OpenMP, whose workers wait for each other at a
// barrier after every primitive, which is what made OpenBLAS's threads stall on a busy machine
// (thread_pool.h). So the work is cut into pieces by shape alone and each piece is one
// single-threaded oneDNN call inside a pool task:
//   forward:  groups of whole images, or (fewer than kMinTasks images, e.g. dump_acts' batch of
//             one) bands of output rows of each image, which read overlapping but disjoint-output
//             slices of the NHWC input;
//   backward: groups of whole images; each computes its images' dx (disjoint) and its own
//             partial dk and db, added afterwards in group order.
// As in conv2d_gemm.cpp, the results are then the same bits on any number of threads.
//
// bf16 operands (the mixed-precision backend's: x, the kernel and dy hold bf16 values, float32s
// whose low halves are zero): the same pieces on oneDNN's bf16 kernels, which read real bf16
// arrays (x and dy packed into the scratch, the kernel by its reorder) and multiply with the
// CPU's bf16 dot-product instructions (AVX512-BF16, AMX), summing in float32 and writing float32
// y, dx, dk and db: the products are exact either way, so the results are the float32 kernels'
// up to summation order, at half the memory traffic. Measured single-threaded on the AMD EPYC
// with AVX512-BF16 at batch 20 (forward, backward-weights, backward-data; ms): conv2d_2 34/37/33
// in float32 against 17/19/18 in bf16, conv2d_3 30/36/31 against 15/26/16.
//
// Each (operation, piece shape) gets its primitive once, kept for the process (a tutorial run
// uses ~20). Primitives use user-managed scratchpads (here: a slice of `scratch` per worker),
// the oneDNN mode in which one primitive may run on several threads at once.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/cpu/fast/cpu_fast.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/bf16.h"
#include "runtime/core/errors.h"
#include "runtime/cpu/fast/group_sum.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts::cpu_fast::onednn {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;
constexpr auto kBf16 = memory::data_type::bf16;

constexpr int kMinTasks = 16;     // forward: cut images into row bands below this many images
constexpr int kMinBandRows = 4;   // ... but no band under 4 output rows
constexpr int kMaxGroups = 32;    // image groups (backward: partial dk per group)
constexpr size_t kAlign = 16;     // floats: scratch slices start on 64-byte boundaries
static_assert(kMinTasks <= kMaxGroups, "row bands need one image per group (pieces())");

const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// oneDNN asks OpenMP how many threads it may use, both when a primitive is created (its work
// split is fixed then) and when it runs; inside our tasks the answer must be one, or each task
// would start an OpenMP team of its own. The setting is per calling thread; restored on exit.
class OneOmpThread {
 public:
  OneOmpThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneOmpThread() { omp_set_num_threads(saved_); }
  OneOmpThread(const OneOmpThread&) = delete;
  OneOmpThread& operator=(const OneOmpThread&) = delete;

 private:
  int saved_;
};

// A piece of a convolution: n images of h input rows (W, C, the kernel, the stride and the
// column padding are the layer's; a band of rows has its own share of the row padding: pt above,
// pb below, oneDNN's padding_l/padding_r, which may differ as TensorFlow's 'same' wants).
// bf16: x, the kernel and dy are read as bf16; y, dx, dk and db are float32 all the same.
struct Shape {
  int n, h, w, c, kh, kw, f;
  bool relu;
  int stride = 1, pt = 0, pb = 0, pl = 0, pr = 0;
  bool bf16 = false;
  int oh() const { return (h + pt + pb - kh) / stride + 1; }
  int ow() const { return (w + pl + pr - kw) / stride + 1; }
  auto key() const { return std::tie(n, h, w, c, kh, kw, f, relu, stride, pt, pb, pl, pr, bf16); }
  bool operator<(const Shape& o) const { return key() < o.key(); }
};

// The layer's shape for n images of all H rows.
Shape layer_shape(const cpu::ConvGeometry& g, int n, bool relu, bool bf16) {
  const int pb = (g.OH - 1) * g.stride + g.KH - g.H - g.pad_top;  // what the last window needs, may be < 0
  const int pr = (g.OW - 1) * g.stride + g.KW - g.W - g.pad_left;
  return {n,       g.H,        g.W, g.C, g.KH, g.KW, g.F, relu, g.stride, g.pad_top, std::max(pb, 0),
          g.pad_left, std::max(pr, 0), bf16};
}

memory::data_type operand_type(const Shape& s) { return s.bf16 ? kBf16 : kF32; }
// x as the forward and backward-weights read it; dx as backward-data writes it.
memory::desc src_desc(const Shape& s) { return {{s.n, s.c, s.h, s.w}, operand_type(s), Tag::nhwc}; }
memory::desc diff_src_desc(const Shape& s) { return {{s.n, s.c, s.h, s.w}, kF32, Tag::nhwc}; }
// y as the forward writes it; dy as both backward passes read it.
memory::desc dst_desc(const Shape& s) { return {{s.n, s.f, s.oh(), s.ow()}, kF32, Tag::nhwc}; }
memory::desc diff_dst_desc(const Shape& s) { return {{s.n, s.f, s.oh(), s.ow()}, operand_type(s), Tag::nhwc}; }
memory::desc keras_kernel_desc(const Shape& s) { return {{s.f, s.c, s.kh, s.kw}, kF32, Tag::hwio}; }
// The kernel as the forward and backward-data read it, in the layout the primitive picks; dk as
// backward-weights writes it.
memory::desc any_kernel_desc(const Shape& s) { return {{s.f, s.c, s.kh, s.kw}, operand_type(s), Tag::any}; }
memory::desc any_diff_kernel_desc(const Shape& s) { return {{s.f, s.c, s.kh, s.kw}, kF32, Tag::any}; }
memory::desc bias_desc(const Shape& s) { return {{s.f}, kF32, Tag::x}; }

dnnl::primitive_attr user_scratchpad(bool relu = false) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (relu) {
    dnnl::post_ops ops;
#if DNNL_VERSION_MAJOR >= 3
    ops.append_eltwise(dnnl::algorithm::eltwise_relu, 0.f, 0.f);
#else
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
#endif
    attr.set_post_ops(ops);
  }
  return attr;
}

// The shape's stride and padding, direct algorithm. oneDNN 3 folded each operation's `desc` into
// its primitive_desc's constructor; both APIs are spelled out (Debian 12 ships 2.6).
constexpr auto kDirect = dnnl::algorithm::convolution_direct;
memory::dims strides(const Shape& s) { return {s.stride, s.stride}; }
memory::dims pad_l(const Shape& s) { return {s.pt, s.pl}; }
memory::dims pad_r(const Shape& s) { return {s.pb, s.pr}; }

dnnl::convolution_forward::primitive_desc forward_pd(const Shape& s) {
#if DNNL_VERSION_MAJOR >= 3
  return {engine(),
          dnnl::prop_kind::forward_training,
          kDirect,
          src_desc(s),
          any_kernel_desc(s),
          bias_desc(s),
          dst_desc(s),
          strides(s),
          pad_l(s),
          pad_r(s),
          user_scratchpad(s.relu)};
#else
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, kDirect, src_desc(s), any_kernel_desc(s),
                                    bias_desc(s), dst_desc(s), strides(s), pad_l(s), pad_r(s));
  return {d, user_scratchpad(s.relu), engine()};
#endif
}

dnnl::convolution_backward_data::primitive_desc backward_data_pd(
    const Shape& s, const dnnl::convolution_forward::primitive_desc& hint) {
#if DNNL_VERSION_MAJOR >= 3
  return {engine(), kDirect,  diff_src_desc(s), any_kernel_desc(s), diff_dst_desc(s), strides(s),
          pad_l(s), pad_r(s), hint,             user_scratchpad()};
#else
  dnnl::convolution_backward_data::desc d(kDirect, diff_src_desc(s), any_kernel_desc(s), diff_dst_desc(s), strides(s),
                                          pad_l(s), pad_r(s));
  return {d, user_scratchpad(), engine(), hint};
#endif
}

dnnl::convolution_backward_weights::primitive_desc backward_weights_pd(
    const Shape& s, const dnnl::convolution_forward::primitive_desc& hint) {
#if DNNL_VERSION_MAJOR >= 3
  return {engine(), kDirect, src_desc(s), any_diff_kernel_desc(s), bias_desc(s), diff_dst_desc(s), strides(s),
          pad_l(s), pad_r(s), hint,     user_scratchpad()};
#else
  dnnl::convolution_backward_weights::desc d(kDirect, src_desc(s), any_diff_kernel_desc(s), bias_desc(s),
                                             diff_dst_desc(s), strides(s), pad_l(s), pad_r(s));
  return {d, user_scratchpad(), engine(), hint};
#endif
}

size_t floats(const memory::desc& d) { return (d.get_size() + sizeof(float) - 1) / sizeof(float); }
size_t floats_for_bf16(size_t values) { return (values + 1) / 2; }
size_t aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct Forward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
  dnnl::reorder::primitive_desc kernel_pd;  // Keras kernel -> pd's layout
  dnnl::reorder kernel_reorder;
};

struct Backward {
  dnnl::convolution_backward_data::primitive_desc data_pd;  // empty without dx
  dnnl::convolution_backward_data data;
  dnnl::reorder::primitive_desc kernel_pd;  // Keras kernel -> data_pd's layout
  dnnl::reorder kernel_reorder;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_backward_weights weights;
  dnnl::reorder::primitive_desc dk_pd;  // weights_pd's dk layout -> Keras kernel
  dnnl::reorder dk_reorder;
};

dnnl::reorder::primitive_desc reorder_pd(const memory::desc& from, const memory::desc& to) {
  return {engine(), from, engine(), to, user_scratchpad()};
}

std::unique_ptr<Forward> make_forward(const Shape& s) {
  auto pd = forward_pd(s);
  auto kpd = reorder_pd(keras_kernel_desc(s), pd.weights_desc());
  return std::make_unique<Forward>(Forward{pd, dnnl::convolution_forward(pd), kpd, dnnl::reorder(kpd)});
}

std::unique_ptr<Backward> make_backward(const Shape& s, bool has_dx) {
  Shape plain = s;
  plain.relu = false;  // the hint only needs the convolution itself
  const auto hint = forward_pd(plain);
  auto b = std::make_unique<Backward>();
  if (has_dx) {
    b->data_pd = backward_data_pd(s, hint);
    b->data = dnnl::convolution_backward_data(b->data_pd);
    b->kernel_pd = reorder_pd(keras_kernel_desc(s), b->data_pd.weights_desc());
    b->kernel_reorder = dnnl::reorder(b->kernel_pd);
  }
  b->weights_pd = backward_weights_pd(s, hint);
  b->weights = dnnl::convolution_backward_weights(b->weights_pd);
  b->dk_pd = reorder_pd(b->weights_pd.diff_weights_desc(), keras_kernel_desc(s));
  b->dk_reorder = dnnl::reorder(b->dk_pd);
  return b;
}

// The process's primitives, one per (operation, piece shape); created under the lock, then only
// read (oneDNN primitives are immutable).
template <typename T>
class Cache {
 public:
  template <typename Make>
  const T& get(const Shape& s, Make make) {
    std::lock_guard<std::mutex> lock(m_);
    auto& slot = map_[s];
    if (!slot) {
      OneOmpThread one;
      try {
        slot = make();
      } catch (const dnnl::error& e) {  // e.g. a CPU or shape this oneDNN has no kernel for
        fail("oneDNN cannot set up the convolution of ", s.n, "x", s.h, "x", s.w, "x", s.c, " by ", s.kh, "x", s.kw,
             "x", s.f, ": ", e.what(), "; ACTS_CPU_CONV=gemm runs it as im2col + OpenBLAS instead");
      }
    }
    return *slot;
  }

 private:
  std::mutex m_;
  std::map<Shape, std::unique_ptr<T>> map_;
};

Cache<Forward>& forwards() {
  static Cache<Forward> c;
  return c;
}
Cache<Backward>& backwards(bool has_dx) {
  static Cache<Backward> with_dx, without_dx;
  return has_dx ? with_dx : without_dx;
}

// Images [img0, img0 + n) and, of each, output rows [oh0, oh0 + rows).
struct Piece {
  int img0, n, oh0, rows;
};

// Image groups (at most kMaxGroups, sizes differing by at most one), each cut into `bands` row
// bands: all fixed by the shape, never by the thread count. A band's input rows are contiguous
// only within one image, so bands > 1 needs one image per group: N < kMinTasks <= kMaxGroups.
std::vector<Piece> pieces(int N, int OH, int bands) {
  const int G = std::min(N, kMaxGroups);
  std::vector<Piece> out;
  for (int g = 0; g < G; ++g) {
    const int i0 = int(int64_t(N) * g / G), i1 = int(int64_t(N) * (g + 1) / G);
    for (int b = 0; b < bands; ++b) {
      const int r0 = int(int64_t(OH) * b / bands), r1 = int(int64_t(OH) * (b + 1) / bands);
      out.push_back({i0, i1 - i0, r0, r1 - r0});
    }
  }
  return out;
}

int forward_bands(int N, int OH) {
  if (N >= kMinTasks) return 1;
  return std::clamp((kMinTasks + N - 1) / N, 1, std::max(1, OH / kMinBandRows));
}

// `scratch` as 64-byte-aligned slices: take(n) hands out the next n floats.
class Slicer {
 public:
  Slicer(std::vector<float>& scratch, size_t total) {
    scratch.resize(std::max(scratch.size(), total + kAlign));
    const auto addr = reinterpret_cast<uintptr_t>(scratch.data());
    at_ = scratch.data() + (kAlign - (addr / sizeof(float)) % kAlign) % kAlign;
  }
  float* take(size_t n) {
    float* p = at_;
    at_ += aligned(n);
    return p;
  }

 private:
  float* at_;
};

memory wrap(const memory::desc& d, const void* p) { return memory(d, engine(), const_cast<void*>(p)); }

// Scratch that Slicer::take() handed out as floats, to hold bf16 values: packed by
// cpu::pack_bf16, only ever read by oneDNN, as bf16.
uint16_t* as_bf16(float* scratch) { return reinterpret_cast<uint16_t*>(scratch); }

// Reorders the Keras kernel k into each primitive's blocked layout (its kernel_pd's destination),
// once per call rather than once per piece. P is Forward or Backward.
template <typename P>
void reorder_kernel(const float* k, const Shape& layer, const std::map<const P*, float*>& kernels, float* pad) {
  OneOmpThread one;
  dnnl::stream stream(engine());
  const memory user_kernel = wrap(keras_kernel_desc(layer), k);
  for (const auto& [prim, kernel] : kernels)
    prim->kernel_reorder.execute(stream, {{DNNL_ARG_FROM, user_kernel},
                                          {DNNL_ARG_TO, wrap(prim->kernel_pd.dst_desc(), kernel)},
                                          {DNNL_ARG_SCRATCHPAD, wrap(prim->kernel_pd.scratchpad_desc(), pad)}});
}

}  // namespace

bool available(std::string* why) {
  if (why) why->clear();
  return true;
}

namespace {
bool isa_has(dnnl::cpu_isa want) {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return (isa & static_cast<unsigned>(want)) == static_cast<unsigned>(want);  // oneDNN's ISA values are nested bit sets
}
}  // namespace

bool has_avx512() { return isa_has(dnnl::cpu_isa::avx512_core); }

std::string native_bf16() {
  if (isa_has(dnnl::cpu_isa::avx512_core_amx)) return "AMX";
  if (isa_has(dnnl::cpu_isa::avx512_core_bf16)) return "AVX512-BF16";
  return "";
}

bool bf16_available(std::string* why) {
  if (why) why->clear();
  if (has_avx512()) return true;
  if (why) *why = version() + " has bf16 convolutions only from AVX-512 up, and this CPU (as oneDNN sees it) has none";
  return false;
}

std::string version() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

namespace {

void forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu, bool bf16,
             float* y, std::vector<float>& scratch) {
  const int H = g.H, W = g.W, C = g.C, F = g.F, OH = g.OH, OW = g.OW;
  const auto plan = pieces(N, OH, forward_bands(N, OH));
  std::vector<const Forward*> prim(plan.size());
  std::vector<int> first_row(plan.size());   // each piece's first input row
  std::map<const Forward*, float*> kernels;  // the kernel in each primitive's layout
  size_t kernel_floats = 0, pad_floats = 0;
  for (size_t p = 0; p < plan.size(); ++p) {
    // Output rows [oh0, oh0 + rows) read input rows [lo, hi), of which those outside [0, H) are
    // this band's share of the padding.
    const int lo = g.row0(plan[p].oh0), hi = g.row0(plan[p].oh0 + plan[p].rows - 1) + g.KH;
    Shape s = layer_shape(g, plan[p].n, relu, bf16);
    s.pt = std::max(0, -lo);
    s.pb = std::max(0, hi - H);
    s.h = std::min(hi, H) - std::max(lo, 0);
    first_row[p] = std::max(lo, 0);
    prim[p] = &forwards().get(s, [&] { return make_forward(s); });
    if (kernels.emplace(prim[p], nullptr).second) kernel_floats += aligned(floats(prim[p]->pd.weights_desc()));
    pad_floats = std::max({pad_floats, floats(prim[p]->pd.scratchpad_desc()),
                           floats(prim[p]->kernel_pd.scratchpad_desc())});
  }
  const int threads = thread_count();
  const size_t xs = size_t(N) * H * W * C;  // bf16: x packed whole, since row bands overlap
  const size_t packed_floats = bf16 ? aligned(floats_for_bf16(xs)) : 0;
  Slicer slices(scratch, kernel_floats + size_t(threads) * aligned(pad_floats) + packed_floats);
  for (auto& [f, kernel] : kernels) kernel = slices.take(floats(f->pd.weights_desc()));
  std::vector<float*> pads(static_cast<size_t>(threads));
  for (float*& pad : pads) pad = slices.take(pad_floats);
  uint16_t* const x16 = bf16 ? as_bf16(slices.take(floats_for_bf16(xs))) : nullptr;
  if (bf16) parallel_ranges(xs, size_t(1) << 16, [&](size_t i0, size_t i1) { cpu::pack_bf16(x + i0, x16 + i0, i1 - i0); });

  const Shape layer = layer_shape(g, 1, relu, bf16);  // for the kernel and bias descriptors
  reorder_kernel(k, layer, kernels, pads[0]);
  std::vector<float> zeros;  // use_bias=False: adding zeros changes no bit
  if (!b) zeros.assign(size_t(F), 0.f);
  const memory bias = wrap(bias_desc(layer), b ? b : zeros.data());
  parallel_for(int(plan.size()), [&](int p, int worker) {
    OneOmpThread one;
    dnnl::stream stream(engine());
    const Piece& pc = plan[size_t(p)];
    const Forward& f = *prim[size_t(p)];
    const size_t in = (size_t(pc.img0) * H + size_t(first_row[size_t(p)])) * W * C;
    float* out = y + (size_t(pc.img0) * OH + pc.oh0) * OW * F;
    f.conv.execute(stream, {{DNNL_ARG_SRC, bf16 ? wrap(f.pd.src_desc(), x16 + in) : wrap(f.pd.src_desc(), x + in)},
                            {DNNL_ARG_WEIGHTS, wrap(f.pd.weights_desc(), kernels.at(&f))},
                            {DNNL_ARG_BIAS, bias},
                            {DNNL_ARG_DST, wrap(f.pd.dst_desc(), out)},
                            {DNNL_ARG_SCRATCHPAD, wrap(f.pd.scratchpad_desc(), pads[size_t(worker)])}});
  });
}

void backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y, bool bf16,
              float* dx, float* dk, float* db, std::vector<float>& scratch) {
  const int H = g.H, W = g.W, C = g.C, KH = g.KH, KW = g.KW, F = g.F, OH = g.OH, OW = g.OW;
  const bool has_dx = dx != nullptr;
  const auto plan = pieces(N, OH, 1);
  const size_t G = plan.size(), KF = size_t(KH) * KW * C * F;
  std::vector<const Backward*> prim(G);
  std::map<const Backward*, float*> kernels;  // the kernel in each bwd-data primitive's layout
  size_t kernel_floats = 0, pad_floats = 0, dk_floats = 0;
  for (size_t p = 0; p < G; ++p) {
    const Shape s = layer_shape(g, plan[p].n, false, bf16);
    prim[p] = &backwards(has_dx).get(s, [&] { return make_backward(s, has_dx); });
    const Backward& bw = *prim[p];
    pad_floats = std::max({pad_floats, floats(bw.weights_pd.scratchpad_desc()), floats(bw.dk_pd.scratchpad_desc())});
    dk_floats = std::max(dk_floats, floats(bw.weights_pd.diff_weights_desc()));
    if (has_dx) {
      pad_floats = std::max({pad_floats, floats(bw.data_pd.scratchpad_desc()), floats(bw.kernel_pd.scratchpad_desc())});
      if (kernels.emplace(&bw, nullptr).second) kernel_floats += aligned(floats(bw.data_pd.weights_desc()));
    }
  }
  const int threads = thread_count();
  // bf16: x and dy packed piece by piece (the pieces' images are disjoint) into whole-batch arrays.
  const size_t xs = size_t(N) * H * W * C, ys_all = size_t(N) * OH * OW * F;
  const size_t packed_floats = bf16 ? aligned(floats_for_bf16(xs)) + aligned(floats_for_bf16(ys_all)) : 0;
  Slicer slices(scratch, kernel_floats + size_t(threads) * (aligned(pad_floats) + aligned(dk_floats)) +
                             aligned(G * KF) + aligned(G * F) + packed_floats);
  for (auto& [bw, kernel] : kernels) kernel = slices.take(floats(bw->data_pd.weights_desc()));
  std::vector<float*> pads(static_cast<size_t>(threads)), dk_blocked(static_cast<size_t>(threads));  // per worker
  for (int t = 0; t < threads; ++t) {
    pads[size_t(t)] = slices.take(pad_floats);
    dk_blocked[size_t(t)] = slices.take(dk_floats);
  }
  float* const dk_parts = slices.take(G * KF);  // (G, KH, KW, C, F)
  float* const db_parts = slices.take(G * F);   // (G, F)
  uint16_t* const x16 = bf16 ? as_bf16(slices.take(floats_for_bf16(xs))) : nullptr;
  uint16_t* const dy16 = bf16 ? as_bf16(slices.take(floats_for_bf16(ys_all))) : nullptr;

  const Shape layer = layer_shape(g, 1, false, bf16);  // for the kernel and bias descriptors
  if (has_dx) reorder_kernel(k, layer, kernels, pads[0]);
  parallel_for(int(G), [&](int gi, int worker) {
    OneOmpThread one;
    dnnl::stream stream(engine());
    const Piece& pc = plan[size_t(gi)];
    const Backward& bw = *prim[size_t(gi)];
    float* pad = pads[size_t(worker)];
    const size_t y0 = size_t(pc.img0) * OH * OW * F, ys = size_t(pc.n) * OH * OW * F;
    const size_t x0 = size_t(pc.img0) * H * W * C, xn = size_t(pc.n) * H * W * C;
    if (relu_y)  // dy was the gradient at relu's output: at the convolution's, it is zero where relu cut
      cpu::relu_backward(relu_y + y0, dy + y0, dy + y0, ys);
    if (bf16) cpu::pack_bf16(dy + y0, dy16 + y0, ys);
    const memory diff_dst = bf16 ? wrap(bw.weights_pd.diff_dst_desc(), dy16 + y0)
                                 : wrap(bw.weights_pd.diff_dst_desc(), dy + y0);
    if (has_dx)
      bw.data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                               {DNNL_ARG_WEIGHTS, wrap(bw.data_pd.weights_desc(), kernels.at(&bw))},
                               {DNNL_ARG_DIFF_SRC, wrap(bw.data_pd.diff_src_desc(), dx + x0)},
                               {DNNL_ARG_SCRATCHPAD, wrap(bw.data_pd.scratchpad_desc(), pad)}});
    if (!dk) return;  // an input gradient alone
    const memory dk_here = wrap(bw.weights_pd.diff_weights_desc(), dk_blocked[size_t(worker)]);
    if (bf16) cpu::pack_bf16(x + x0, x16 + x0, xn);
    const memory src = bf16 ? wrap(bw.weights_pd.src_desc(), x16 + x0) : wrap(bw.weights_pd.src_desc(), x + x0);
    bw.weights.execute(stream, {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_DIFF_DST, diff_dst},
                                {DNNL_ARG_DIFF_WEIGHTS, dk_here},
                                {DNNL_ARG_DIFF_BIAS, wrap(bias_desc(layer), db_parts + size_t(gi) * F)},
                                {DNNL_ARG_SCRATCHPAD, wrap(bw.weights_pd.scratchpad_desc(), pad)}});
    bw.dk_reorder.execute(stream, {{DNNL_ARG_FROM, dk_here},
                                   {DNNL_ARG_TO, wrap(keras_kernel_desc(layer), dk_parts + size_t(gi) * KF)},
                                   {DNNL_ARG_SCRATCHPAD, wrap(bw.dk_pd.scratchpad_desc(), pad)}});
  });
  if (dk) sum_groups(dk_parts, G, KF, dk);
  if (dk && db) sum_groups(db_parts, G, size_t(F), db);  // none without a bias
}

}  // namespace

void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    float* y, std::vector<float>& scratch) {
  forward(x, N, g, k, b, relu, false, y, scratch);
}

void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     float* dx, float* dk, float* db, std::vector<float>& scratch) {
  backward(x, N, g, k, dy, relu_y, false, dx, dk, db, scratch);
}

void conv2d_forward_bf16(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                         float* y, std::vector<float>& scratch) {
  forward(x, N, g, k, b, relu, true, y, scratch);
}

void conv2d_backward_bf16(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy,
                          const float* relu_y, float* dx, float* dk, float* db, std::vector<float>& scratch) {
  backward(x, N, g, k, dy, relu_y, true, dx, dk, db, scratch);
}

}  // namespace acts::cpu_fast::onednn
