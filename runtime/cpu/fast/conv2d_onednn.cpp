// Conv2D on the CPU with oneDNN's direct convolution kernels (jit/brgconv for AVX2/AVX-512),
// reading and writing our NHWC activations in place; only Keras' (KH, KW, C, F) kernel is
// reordered, into the blocked layout oneDNN's kernels want (at most 147 k values here). With a
// plain kernel layout oneDNN 2.6 offers only its own GEMM convolution, no faster than ours: the
// kernel's layout is what unlocks the direct kernels. Measured on the 2-core AVX-512 Xeon at
// batch 20 (bench --profile), against im2col + OpenBLAS (conv2d_gemm.cpp): the four
// convolutions' forward 129 -> 64 ms, backward (with relu's) 258 -> 215 ms; a training step
// 410-468 -> 277-310 ms.
//
// Winograd in the backward pass: on AVX-512, oneDNN's direct kernels already run near the FMA
// units' peak (conv2d_2's forward, single-threaded on the AMD EPYC: 116 GFLOP/s), so what is
// left is doing fewer multiplications. oneDNN's Winograd F(4x4, 3x3) takes 3x3 stride-1
// convolutions with channels in multiples of 16 (the tutorial's conv2d_2..4) on its blocked
// nChw16c layout: each piece's x, dy and dx are reordered into per-worker buffers and back
// (Staging below). Single-threaded, batch 20, backward-weights / backward-data, ms: conv2d_2
// 37/33 -> 14/16, conv2d_3 36/31 -> 13/13. Its results are float32-accurate but not the direct
// sums': at most 2e-6 of a tensor's largest value apart on these shapes (tests: the same 1e-5
// bounds). Not in the forward pass, though it is 2x faster there too: identical inputs must
// give identical outputs, as Keras' direct convolution gives them, or max pooling breaks exact
// ties (flat image regions) the other way, which moved 4% of a saliency map's pixels against
// tf-keras-vis' (CamReference). So activations, predictions and dumps are the direct sums, and
// only gradients differ, by float32 rounding.
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
constexpr int kWinoMinTasks = 4;  // Winograd: at least this many image groups where possible
constexpr int kWinoMinOutputsBf16 = 24 * 24;  // bf16 operands: Winograd from this output size up
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
// wino: oneDNN's Winograd algorithm (F(4x4, 3x3)), which works on its own blocked layout of the
// activations; else the direct one, on our NHWC tensors in place.
struct Shape {
  int n, h, w, c, kh, kw, f;
  bool relu;
  int stride = 1, pt = 0, pb = 0, pl = 0, pr = 0;
  bool bf16 = false;
  bool wino = false;
  int oh() const { return (h + pt + pb - kh) / stride + 1; }
  int ow() const { return (w + pl + pr - kw) / stride + 1; }
  auto key() const { return std::tie(n, h, w, c, kh, kw, f, relu, stride, pt, pb, pl, pr, bf16, wino); }
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
// An activation as the primitive is asked for it: our NHWC, or for Winograd whatever it picks.
memory::desc prim_desc(const memory::desc& user, const Shape& s) {
#if DNNL_VERSION_MAJOR >= 3
  return s.wino ? memory::desc(user.get_dims(), user.get_data_type(), Tag::any) : user;
#else
  return s.wino ? memory::desc(user.dims(), user.data_type(), Tag::any) : user;
#endif
}

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

// The shape's algorithm, stride and padding. oneDNN 3 folded each operation's `desc` into its
// primitive_desc's constructor; both APIs are spelled out (Debian 12 ships 2.6).
dnnl::algorithm algo(const Shape& s) {
  return s.wino ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
}
memory::dims strides(const Shape& s) { return {s.stride, s.stride}; }
memory::dims pad_l(const Shape& s) { return {s.pt, s.pl}; }
memory::dims pad_r(const Shape& s) { return {s.pb, s.pr}; }

dnnl::convolution_forward::primitive_desc forward_pd(const Shape& s) {
#if DNNL_VERSION_MAJOR >= 3
  return {engine(),
          dnnl::prop_kind::forward_training,
          algo(s),
          prim_desc(src_desc(s), s),
          any_kernel_desc(s),
          bias_desc(s),
          prim_desc(dst_desc(s), s),
          strides(s),
          pad_l(s),
          pad_r(s),
          user_scratchpad(s.relu)};
#else
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, algo(s), prim_desc(src_desc(s), s),
                                    any_kernel_desc(s), bias_desc(s), prim_desc(dst_desc(s), s), strides(s), pad_l(s),
                                    pad_r(s));
  return {d, user_scratchpad(s.relu), engine()};
#endif
}

dnnl::convolution_backward_data::primitive_desc backward_data_pd(
    const Shape& s, const dnnl::convolution_forward::primitive_desc& hint) {
#if DNNL_VERSION_MAJOR >= 3
  return {engine(), algo(s), prim_desc(diff_src_desc(s), s), any_kernel_desc(s), prim_desc(diff_dst_desc(s), s),
          strides(s), pad_l(s), pad_r(s), hint, user_scratchpad()};
#else
  dnnl::convolution_backward_data::desc d(algo(s), prim_desc(diff_src_desc(s), s), any_kernel_desc(s),
                                          prim_desc(diff_dst_desc(s), s), strides(s), pad_l(s), pad_r(s));
  return {d, user_scratchpad(), engine(), hint};
#endif
}

dnnl::convolution_backward_weights::primitive_desc backward_weights_pd(
    const Shape& s, const dnnl::convolution_forward::primitive_desc& hint) {
#if DNNL_VERSION_MAJOR >= 3
  return {engine(), algo(s), prim_desc(src_desc(s), s), any_diff_kernel_desc(s), bias_desc(s),
          prim_desc(diff_dst_desc(s), s), strides(s), pad_l(s), pad_r(s), hint, user_scratchpad()};
#else
  dnnl::convolution_backward_weights::desc d(algo(s), prim_desc(src_desc(s), s), any_diff_kernel_desc(s),
                                             bias_desc(s), prim_desc(diff_dst_desc(s), s), strides(s), pad_l(s),
                                             pad_r(s));
  return {d, user_scratchpad(), engine(), hint};
#endif
}

size_t floats(const memory::desc& d) { return (d.get_size() + sizeof(float) - 1) / sizeof(float); }
size_t floats_for_bf16(size_t values) { return (values + 1) / 2; }
size_t aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

dnnl::reorder::primitive_desc reorder_pd(const memory::desc& from, const memory::desc& to) {
  return {engine(), from, engine(), to, user_scratchpad()};
}

// An activation between our NHWC tensor (`user`) and the layout its primitive asked for
// (`prim`): the same for the direct algorithm (used in place), Winograd's blocked one otherwise,
// reordered through a per-worker buffer, into the primitive's layout (an input) or out of it
// (an output).
struct Staging {
  memory::desc user, prim;
  dnnl::reorder::primitive_desc pd;
  dnnl::reorder reorder;
  bool needed() const { return user != prim; }
  size_t buffer_floats() const { return needed() ? floats(prim) : 0; }
  size_t pad_floats() const { return needed() ? floats(pd.scratchpad_desc()) : 0; }
};

Staging staging(const memory::desc& user, const memory::desc& prim, bool into_prim) {
  Staging st{user, prim, {}, {}};
  if (st.needed()) {
    st.pd = into_prim ? reorder_pd(user, prim) : reorder_pd(prim, user);
    st.reorder = dnnl::reorder(st.pd);
  }
  return st;
}

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
  Staging dy_data, dx, x, dy_weights;  // dy as each pass reads it (Winograd: the same layout)
};

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
    b->dy_data = staging(diff_dst_desc(s), b->data_pd.diff_dst_desc(), true);
    b->dx = staging(diff_src_desc(s), b->data_pd.diff_src_desc(), false);
  }
  b->weights_pd = backward_weights_pd(s, hint);
  b->weights = dnnl::convolution_backward_weights(b->weights_pd);
  b->dk_pd = reorder_pd(b->weights_pd.diff_weights_desc(), keras_kernel_desc(s));
  b->dk_reorder = dnnl::reorder(b->dk_pd);
  b->x = staging(src_desc(s), b->weights_pd.src_desc(), true);
  b->dy_weights = staging(diff_dst_desc(s), b->weights_pd.diff_dst_desc(), true);
  return b;
}

// The process's primitives, one per (operation, piece shape); created under the lock, then only
// read (oneDNN primitives are immutable).
template <typename T>
class Cache {
 public:
  template <typename Make>
  const T& get(const Shape& s, Make make) {
    const T* t = find(s, make);
    if (!t) {
      std::string why;
      {
        std::lock_guard<std::mutex> lock(m_);
        why = why_.at(s);
      }
      fail("oneDNN cannot set up the convolution of ", s.n, "x", s.h, "x", s.w, "x", s.c, " by ", s.kh, "x", s.kw, "x",
           s.f, ": ", why, "; ACTS_CPU_CONV=gemm runs it as im2col + OpenBLAS instead");
    }
    return *t;
  }
  // Null where oneDNN has no kernel for the shape on this CPU (asked once per shape).
  template <typename Make>
  const T* find(const Shape& s, Make make) {
    std::lock_guard<std::mutex> lock(m_);
    auto& slot = map_[s];
    if (!slot && !why_.count(s)) {
      OneOmpThread one;
      try {
        slot = make();
      } catch (const dnnl::error& e) {  // e.g. a CPU or shape this oneDNN has no kernel for
        why_[s] = e.what();
      }
    }
    return slot.get();
  }

 private:
  std::mutex m_;
  std::map<Shape, std::unique_ptr<T>> map_;
  std::map<Shape, std::string> why_;
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
std::vector<Piece> pieces(int N, int OH, int bands, int groups) {
  const int G = std::min(N, groups);
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

// Winograd's calls take about 5 images each (at batch 20 on 2 cores, a training step with
// Winograd in both passes: 4 groups 104-107 ms, 8 groups 113, 20 groups 117-123; one image per
// call gains nothing over the direct algorithm on conv2d_4's 17x17 images), and are at least
// kWinoMinTasks where there are as many images. Fixed by the shape: so threads past 4 idle at
// batch 20.
int wino_groups(int N) { return std::clamp((N + 4) / 5, std::min(N, kWinoMinTasks), kMaxGroups); }

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

// Where a row band of output rows [oh0, oh0 + rows) reads its input: rows [lo, hi), of which
// those outside [0, H) are the band's share of the padding.
Shape piece_shape(const cpu::ConvGeometry& g, const Piece& pc, bool relu, bool bf16, int* first_row) {
  const int lo = g.row0(pc.oh0), hi = g.row0(pc.oh0 + pc.rows - 1) + g.KH;
  Shape s = layer_shape(g, pc.n, relu, bf16);
  s.pt = std::max(0, -lo);
  s.pb = std::max(0, hi - g.H);
  s.h = std::min(hi, g.H) - std::max(lo, 0);
  *first_row = std::max(lo, 0);
  return s;
}

// The backward on Winograd where it is asked for (3x3, stride 1, channels in and out in
// multiples of 16: oneDNN pads others to 16 and runs the tutorial's first layer, 3 channels in,
// 4x slower than direct) and oneDNN has it for the shape (from AVX-512 up): tried on the first
// piece.
bool try_winograd(const cpu::ConvGeometry& g) {
  return winograd_allowed() && g.KH == 3 && g.KW == 3 && g.stride == 1 && g.C % 16 == 0 && g.F % 16 == 0;
}

// The primitive's view of our tensor at p: p itself, or `buffer` after reordering p into it.
memory stage_in(const Staging& st, const void* p, float* buffer, float* pad, dnnl::stream& stream) {
  if (!st.needed()) return wrap(st.user, p);
  memory m = wrap(st.prim, buffer);
  st.reorder.execute(stream, {{DNNL_ARG_FROM, wrap(st.user, p)},
                              {DNNL_ARG_TO, m},
                              {DNNL_ARG_SCRATCHPAD, wrap(st.pd.scratchpad_desc(), pad)}});
  return m;
}

// Where the primitive writes our tensor at p: p itself, or `buffer`, which stage_out() then
// reorders into p.
memory output_at(const Staging& st, void* p, float* buffer) {
  return st.needed() ? wrap(st.prim, buffer) : wrap(st.user, p);
}
void stage_out(const Staging& st, const memory& written, void* p, float* pad, dnnl::stream& stream) {
  if (!st.needed()) return;
  st.reorder.execute(stream, {{DNNL_ARG_FROM, written},
                              {DNNL_ARG_TO, wrap(st.user, p)},
                              {DNNL_ARG_SCRATCHPAD, wrap(st.pd.scratchpad_desc(), pad)}});
}

// round: y rounded to bf16 piece by piece, while the piece is in cache (the mixed-precision
// backend's rounding point, one pass over y fewer).
void forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu, bool bf16,
             bool round, float* y, std::vector<float>& scratch) {
  const int H = g.H, W = g.W, C = g.C, F = g.F, OH = g.OH, OW = g.OW;
  const auto plan = pieces(N, OH, forward_bands(N, OH), kMaxGroups);
  std::vector<const Forward*> prim(plan.size());
  std::vector<int> first_row(plan.size());  // each piece's first input row
  std::map<const Forward*, float*> kernels;  // the kernel in each primitive's layout
  size_t kernel_floats = 0, pad_floats = 0;
  for (size_t p = 0; p < plan.size(); ++p) {
    const Shape s = piece_shape(g, plan[p], relu, bf16, &first_row[p]);
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
    if (round) cpu::round_bf16(out, out, size_t(pc.n) * pc.rows * OW * F);  // a band's rows, or whole images
  });
}

// bf16_operands: x, k and dy hold bf16 values. Where Winograd runs (outputs of 24x24 and more:
// below), its float32 kernels take them as they are (float32-accurate sums of the same products,
// and faster than oneDNN's bf16 direct kernels on conv2d_2 and conv2d_3); elsewhere they are
// packed for the bf16 kernels.
// round: dx rounded to bf16 piece by piece, as forward()'s y.
void backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
              bool bf16_operands, bool round, float* dx, float* dk, float* db, std::vector<float>& scratch) {
  const int H = g.H, W = g.W, C = g.C, KH = g.KH, KW = g.KW, F = g.F, OH = g.OH, OW = g.OW;
  const bool has_dx = dx != nullptr;
  std::vector<Piece> plan;
  std::vector<const Backward*> prim;
  bool bf16 = false;  // the plan's primitives read bf16 arrays
  // On bf16 operands, small images (conv2d_4's 15x15 outputs) go faster on the bf16 direct kernels
  // than on Winograd, whose reorders weigh more there; and those kernels, like Winograd's, go
  // faster on pieces of ~5 images than of one, except on 3 input channels. At batch 20, 2
  // threads, conv2d_4's backward: Winograd 8.9, bf16 direct by images 10.1, by ~5 images 7.7 ms;
  // conv2d_3's: 17.9, 19.5 and 18.6; conv2d_1's (bf16 direct): 6.5 by images, 7.3 by ~5.
  const bool small = bf16_operands && OH * OW < kWinoMinOutputsBf16;
  for (const bool wino : {try_winograd(g) && !small, false}) {
    bf16 = bf16_operands && !wino;
    plan = pieces(N, OH, 1, wino || (bf16 && C >= 16) ? wino_groups(N) : kMaxGroups);
    prim.assign(plan.size(), nullptr);
    for (size_t p = 0; p < plan.size(); ++p) {
      Shape s = layer_shape(g, plan[p].n, false, bf16);
      s.wino = wino;
      if (wino && p == 0) {
        if (!(prim[p] = backwards(has_dx).find(s, [&] { return make_backward(s, has_dx); }))) break;
      } else {
        prim[p] = &backwards(has_dx).get(s, [&] { return make_backward(s, has_dx); });
      }
    }
    if (prim[0]) break;
  }
  const size_t G = plan.size(), KF = size_t(KH) * KW * C * F;
  std::map<const Backward*, float*> kernels;  // the kernel in each bwd-data primitive's layout
  size_t kernel_floats = 0, pad_floats = 0, dk_floats = 0, x_floats = 0, dy_floats = 0, dx_floats = 0;
  for (const Backward* bw : prim) {
    pad_floats = std::max({pad_floats, floats(bw->weights_pd.scratchpad_desc()), floats(bw->dk_pd.scratchpad_desc()),
                           bw->x.pad_floats(), bw->dy_weights.pad_floats()});
    dk_floats = std::max(dk_floats, floats(bw->weights_pd.diff_weights_desc()));
    x_floats = std::max(x_floats, bw->x.buffer_floats());
    dy_floats = std::max({dy_floats, bw->dy_weights.buffer_floats(), bw->dy_data.buffer_floats()});
    if (has_dx) {
      pad_floats = std::max({pad_floats, floats(bw->data_pd.scratchpad_desc()), floats(bw->kernel_pd.scratchpad_desc()),
                             bw->dy_data.pad_floats(), bw->dx.pad_floats()});
      dx_floats = std::max(dx_floats, bw->dx.buffer_floats());
      if (kernels.emplace(bw, nullptr).second) kernel_floats += aligned(floats(bw->data_pd.weights_desc()));
    }
  }
  const int threads = thread_count();
  // bf16: x and dy packed piece by piece (the pieces' images are disjoint) into whole-batch arrays.
  const size_t xs = size_t(N) * H * W * C, ys_all = size_t(N) * OH * OW * F;
  const size_t packed_floats = bf16 ? aligned(floats_for_bf16(xs)) + aligned(floats_for_bf16(ys_all)) : 0;
  const size_t per_worker =
      aligned(pad_floats) + aligned(dk_floats) + aligned(x_floats) + aligned(dy_floats) + aligned(dx_floats);
  Slicer slices(scratch, kernel_floats + size_t(threads) * per_worker + aligned(G * KF) + aligned(G * F) + packed_floats);
  for (auto& [bw, kernel] : kernels) kernel = slices.take(floats(bw->data_pd.weights_desc()));
  struct Buffers {
    float *pad, *dk, *x, *dy, *dx;
  };
  std::vector<Buffers> buf(static_cast<size_t>(threads));  // per worker
  for (Buffers& w : buf)
    w = {slices.take(pad_floats), slices.take(dk_floats), slices.take(x_floats), slices.take(dy_floats),
         slices.take(dx_floats)};
  float* const dk_parts = slices.take(G * KF);  // (G, KH, KW, C, F)
  float* const db_parts = slices.take(G * F);   // (G, F)
  uint16_t* const x16 = bf16 ? as_bf16(slices.take(floats_for_bf16(xs))) : nullptr;
  uint16_t* const dy16 = bf16 ? as_bf16(slices.take(floats_for_bf16(ys_all))) : nullptr;

  const Shape layer = layer_shape(g, 1, false, bf16);  // for the kernel and bias descriptors
  if (has_dx) reorder_kernel(k, layer, kernels, buf[0].pad);
  parallel_for(int(G), [&](int gi, int worker) {
    OneOmpThread one;
    dnnl::stream stream(engine());
    const Piece& pc = plan[size_t(gi)];
    const Backward& bw = *prim[size_t(gi)];
    const Buffers& w = buf[size_t(worker)];
    const size_t y0 = size_t(pc.img0) * OH * OW * F, ys = size_t(pc.n) * OH * OW * F;
    const size_t x0 = size_t(pc.img0) * H * W * C, xn = size_t(pc.n) * H * W * C;
    if (relu_y)  // dy was the gradient at relu's output: at the convolution's, it is zero where relu cut
      cpu::relu_backward(relu_y + y0, dy + y0, dy + y0, ys);
    if (bf16) cpu::pack_bf16(dy + y0, dy16 + y0, ys);
    const void* dy_here = bf16 ? static_cast<const void*>(dy16 + y0) : static_cast<const void*>(dy + y0);
    memory diff_dst;  // dy as the data pass read it
    if (has_dx) {
      diff_dst = stage_in(bw.dy_data, dy_here, w.dy, w.pad, stream);
      const memory diff_src = output_at(bw.dx, dx + x0, w.dx);
      bw.data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                               {DNNL_ARG_WEIGHTS, wrap(bw.data_pd.weights_desc(), kernels.at(&bw))},
                               {DNNL_ARG_DIFF_SRC, diff_src},
                               {DNNL_ARG_SCRATCHPAD, wrap(bw.data_pd.scratchpad_desc(), w.pad)}});
      stage_out(bw.dx, diff_src, dx + x0, w.pad, stream);
      if (round) cpu::round_bf16(dx + x0, dx + x0, xn);
    }
    if (!dk) return;  // an input gradient alone
    // dy staged once when both passes read the same layout
    if (!has_dx || bw.dy_weights.prim != bw.dy_data.prim) diff_dst = stage_in(bw.dy_weights, dy_here, w.dy, w.pad, stream);
    if (bf16) cpu::pack_bf16(x + x0, x16 + x0, xn);
    const memory src = bf16 ? stage_in(bw.x, x16 + x0, w.x, w.pad, stream) : stage_in(bw.x, x + x0, w.x, w.pad, stream);
    const memory dk_here = wrap(bw.weights_pd.diff_weights_desc(), w.dk);
    bw.weights.execute(stream, {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_DIFF_DST, diff_dst},
                                {DNNL_ARG_DIFF_WEIGHTS, dk_here},
                                {DNNL_ARG_DIFF_BIAS, wrap(bias_desc(layer), db_parts + size_t(gi) * F)},
                                {DNNL_ARG_SCRATCHPAD, wrap(bw.weights_pd.scratchpad_desc(), w.pad)}});
    bw.dk_reorder.execute(stream, {{DNNL_ARG_FROM, dk_here},
                                   {DNNL_ARG_TO, wrap(keras_kernel_desc(layer), dk_parts + size_t(gi) * KF)},
                                   {DNNL_ARG_SCRATCHPAD, wrap(bw.dk_pd.scratchpad_desc(), w.pad)}});
  });
  if (dk) sum_groups(dk_parts, G, KF, dk);
  if (dk && db) sum_groups(db_parts, G, size_t(F), db);  // none without a bias
}
}  // namespace

bool runs_winograd(const cpu::ConvGeometry& g) {
  if (!try_winograd(g)) return false;
  Shape s = layer_shape(g, wino_groups(1), false, false);
  s.wino = true;
  return backwards(true).find(s, [&] { return make_backward(s, true); }) != nullptr;
}

void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    float* y, std::vector<float>& scratch) {
  forward(x, N, g, k, b, relu, false, false, y, scratch);
}

void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     float* dx, float* dk, float* db, std::vector<float>& scratch) {
  backward(x, N, g, k, dy, relu_y, false, false, dx, dk, db, scratch);
}

void conv2d_forward_bf16(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                         float* y, std::vector<float>& scratch) {
  forward(x, N, g, k, b, relu, true, false, y, scratch);
}

void conv2d_forward_bf16_rounded(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b,
                                 bool relu, float* y, std::vector<float>& scratch) {
  forward(x, N, g, k, b, relu, true, true, y, scratch);
}

void conv2d_backward_bf16(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy,
                          const float* relu_y, float* dx, float* dk, float* db, std::vector<float>& scratch) {
  backward(x, N, g, k, dy, relu_y, true, false, dx, dk, db, scratch);
}

void conv2d_backward_bf16_rounded(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy,
                                  const float* relu_y, float* dx, float* dk, float* db, std::vector<float>& scratch) {
  backward(x, N, g, k, dy, relu_y, true, true, dx, dk, db, scratch);
}

}  // namespace acts::cpu_fast::onednn
