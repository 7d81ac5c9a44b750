// Emulator only: what ConvLayer does when cuDNN refuses, at execution, an algorithm its own
// heuristics offered (CUDNN_STATUS_NOT_SUPPORTED or EXECUTION_FAILED: a kernel that cannot run on
// this device or driver). It must take the next candidate for that shape and pass, as PyTorch's
// algorithm iterator does, say so in one line naming the layer, the pass and both algorithms, keep
// the choice, and never try another algorithm inside a CUDA-graph capture. A real GPU cannot be
// made to refuse on demand, so the stand-in cuDNN's test hook (acts_emu::dnn::refuse) does it.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/conv2d.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/ops/conv2d/conv2d_cuda_layer.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda/param_layout.h"
#include "runtime/cuda/step_graph.h"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"

using namespace acts;
using namespace acts::test;
using acts_emu::dnn::Pass;

namespace {

constexpr double kTol = 1e-5;

// Every test starts and ends with cuDNN accepting every algorithm.
class ConvFallback : public CudaTest {
 protected:
  void SetUp() override {
    acts_emu::dnn::clear_refusals();
    CudaTest::SetUp();
  }
  void TearDown() override { acts_emu::dnn::clear_refusals(); }
};

// stderr captured while alive (gtest allows one capture at a time: released even when the code
// under test throws).
class StderrCapture {
 public:
  StderrCapture() { testing::internal::CaptureStderr(); }
  ~StderrCapture() {
    if (!taken_) testing::internal::GetCapturedStderr();
  }
  std::string take() {
    taken_ = true;
    return testing::internal::GetCapturedStderr();
  }

 private:
  bool taken_ = false;
};

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A labelled batch of random images.
struct HostBatchLite {
  int n = 0;
  std::vector<uint8_t> images;
  std::vector<float> labels;
  static HostBatchLite make(const Graph& g, int n, uint32_t seed) {
    HostBatchLite b;
    b.n = n;
    b.images = random_bytes(size_t(n) * g.input_size(), seed);
    for (int i = 0; i < n; ++i) b.labels.push_back(float((i + int(seed)) % 2));
    return b;
  }
  Batch view() const {
    Batch b;
    b.n = n;
    b.images = images.data();
    b.labels = labels.data();
    return b;
  }
};

// One layer's three passes on random data, against the CPU reference in double.
struct ConvRun {
  ConvShape s{2, 9, 7, 3, 3, 5};
  std::vector<float> x, k, k_cudnn, dy;
  std::vector<double> y, dx, dk;
  ConvRun() {
    x = random_floats(size_t(s.n) * s.h * s.w * s.c, 21);
    k = random_floats(size_t(s.k) * s.k * s.c * s.f, 22, -0.2f, 0.2f);
    dy = random_floats(size_t(s.n) * s.oh() * s.ow() * s.f, 24);
    k_cudnn.resize(k.size());
    conv_kernel_keras_to_cudnn(k.data(), s.k, s.k, s.c, s.f, k_cudnn.data());
    const std::vector<double> xd(x.begin(), x.end()), kd(k.begin(), k.end()), dyd(dy.begin(), dy.end());
    const std::vector<double> zero(size_t(s.f), 0.0);
    std::vector<double> db(size_t(s.f));
    y.resize(dy.size());
    dx.resize(x.size());
    dk.resize(k.size());
    cpu::conv2d_forward(xd.data(), s.n, s.h, s.w, s.c, kd.data(), zero.data(), s.k, s.k, s.f, y.data());
    cpu::conv2d_backward(xd.data(), s.n, s.h, s.w, s.c, kd.data(), s.k, s.k, s.f, dyd.data(), dx.data(), dk.data(),
                         db.data());
  }
  // Runs the three passes of `conv` and checks them against the reference.
  void check(CudaTest& t, ConvLayer& conv, const std::string& tag) {
    DeviceBuffer<unsigned char> ws(conv.workspace_bytes(), "workspace");
    auto d_x = t.upload(x), d_k = t.upload(k_cudnn), d_dy = t.upload(dy);
    auto d_y = t.poisoned(y.size()), d_dx = t.poisoned(dx.size()), d_dk = t.poisoned(dk.size());
    conv.forward(d_x.get(), d_k.get(), d_y.get(), ws.get(), ws.bytes());
    conv.backward_data(d_k.get(), d_dy.get(), d_dx.get(), ws.get(), ws.bytes());
    conv.backward_filter(d_x.get(), d_dy.get(), d_dk.get(), ws.get(), ws.bytes());
    std::vector<float> got_dk(dk.size());
    const auto dk_cudnn = t.download(d_dk, dk.size());
    conv_kernel_cudnn_to_keras(dk_cudnn.data(), s.k, s.k, s.c, s.f, got_dk.data());
    const std::string where = tag + " [" + conv.algorithms() + "]";
    expect_close("forward " + where, t.download(d_y, y.size()), y, kTol, kTol * max_abs(y));
    expect_close("backward data " + where, t.download(d_dx, dx.size()), dx, kTol, kTol * max_abs(dx));
    expect_close("backward filter " + where, got_dk, dk, kTol, kTol * max_abs(dk));
  }
};

TEST_F(ConvFallback, RefusedAlgorithmsFallBackToTheNextCandidateAndStay) {
  acts_emu::dnn::refuse(Pass::Forward, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_NOT_SUPPORTED);
  acts_emu::dnn::refuse(Pass::BackwardData, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_STATUS_EXECUTION_FAILED_CUDART);
  acts_emu::dnn::refuse(Pass::BackwardFilter, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_STATUS_EXECUTION_FAILED);
  ConvRun run;
  ConvLayer conv(*ctx, "conv2d_9", run.s, /*deterministic=*/true, /*search=*/false, size_t(64) << 20);
  EXPECT_EQ(conv.algorithms(), "fwd IMPLICIT_PRECOMP_GEMM (FMA), bwd-data ALGO_1 (FMA), bwd-filter ALGO_1 (FMA)");
  StderrCapture first;
  run.check(*this, conv, "first use");
  const std::string log = first.take();
  EXPECT_EQ(conv.algorithms(), "fwd IMPLICIT_GEMM (FMA), bwd-data ALGO_0 (FMA), bwd-filter ALGO_0 (FMA)");
  // One line per pass, naming the layer, the pass, the refused and the taken algorithm.
  EXPECT_EQ(count_of(log, "\n"), 3u) << log;
  EXPECT_EQ(count_of(log, "conv2d_9 (Conv2D, input (2, 9, 7, 3)"), 3u) << log;
  EXPECT_NE(log.find("forward algorithm IMPLICIT_PRECOMP_GEMM (FMA) at execution"), std::string::npos) << log;
  EXPECT_NE(log.find("CUDNN_STATUS_NOT_SUPPORTED"), std::string::npos) << log;
  EXPECT_NE(log.find("using IMPLICIT_GEMM (FMA)"), std::string::npos) << log;
  EXPECT_NE(log.find("backward-data algorithm ALGO_1 (FMA)"), std::string::npos) << log;
  EXPECT_NE(log.find("CUDNN_STATUS_EXECUTION_FAILED_CUDART"), std::string::npos) << log;
  EXPECT_NE(log.find("backward-filter algorithm ALGO_1 (FMA)"), std::string::npos) << log;
  // The backward ALGO_0s are non-deterministic (as cuDNN's are): the line says what that costs.
  EXPECT_EQ(count_of(log, "non-deterministic"), 2u) << log;

  // The choice stays: a second run neither asks the refused algorithms again nor logs.
  StderrCapture second;
  run.check(*this, conv, "second use");
  EXPECT_EQ(second.take(), "");
  for (const auto& r : acts_emu::dnn::refusals()) EXPECT_EQ(r.calls, 1) << "algorithm " << r.algo << " asked again";
}

TEST_F(ConvFallback, EveryCandidateRefusedNamesThemAll) {
  acts_emu::dnn::refuse(Pass::Forward, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_NOT_SUPPORTED);
  acts_emu::dnn::refuse(Pass::Forward, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_STATUS_EXECUTION_FAILED);
  ConvRun run;
  ConvLayer conv(*ctx, "conv2d_9", run.s, true, false, size_t(64) << 20);
  DeviceBuffer<unsigned char> ws(conv.workspace_bytes(), "workspace");
  auto d_x = upload(run.x), d_k = upload(run.k_cudnn);
  auto d_y = poisoned(run.y.size());
  StderrCapture quiet;  // the first refusal's warning
  try {
    conv.forward(d_x.get(), d_k.get(), d_y.get(), ws.get(), ws.bytes());
    FAIL() << "a forward pass whose every algorithm cuDNN refused succeeded";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d_9 (Conv2D, input (2, 9, 7, 3)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find("IMPLICIT_PRECOMP_GEMM (FMA): CUDNN_STATUS_NOT_SUPPORTED"), std::string::npos) << msg;
    EXPECT_NE(msg.find("IMPLICIT_GEMM (FMA): CUDNN_STATUS_EXECUTION_FAILED"), std::string::npos) << msg;
  }
}

// A first use inside a capture does not fall back there (the capture would record a failed call
// and cuDNN may not be called outside the captured work): it throws, the capture ends, and the
// eager rerun falls back; a later capture records the algorithm taken and replays it correctly.
TEST_F(ConvFallback, NoFallbackInsideGraphCapture) {
  acts_emu::dnn::refuse(Pass::Forward, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_NOT_SUPPORTED);
  ConvRun run;
  ConvLayer conv(*ctx, "conv2d_9", run.s, true, false, size_t(64) << 20);
  DeviceBuffer<unsigned char> ws(conv.workspace_bytes(), "workspace");
  auto d_x = upload(run.x), d_k = upload(run.k_cudnn);
  auto d_y = poisoned(run.y.size());
  const auto forward = [&] { conv.forward(d_x.get(), d_k.get(), d_y.get(), ws.get(), ws.bytes()); };
  try {
    StepGraph::capture(stream(), forward);
    FAIL() << "the capture succeeded around a refused algorithm";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("capture"), std::string::npos) << e.what();
  }
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusActive;
  CUDA_CHECK(cudaStreamIsCapturing(stream(), &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  EXPECT_EQ(conv.algorithms().rfind("fwd IMPLICIT_PRECOMP_GEMM", 0), 0u) << "no fallback inside the capture";
  StderrCapture eager;
  forward();  // eagerly: falls back here
  EXPECT_NE(eager.take().find("using IMPLICIT_GEMM"), std::string::npos);
  expect_close("eager forward", download(d_y, run.y.size()), run.y, kTol, kTol * max_abs(run.y));
  d_y.poison(stream());
  StepGraph g = StepGraph::capture(stream(), forward);
  g.launch(stream());
  expect_close("replayed forward", download(d_y, run.y.size()), run.y, kTol, kTol * max_abs(run.y));
  EXPECT_EQ(acts_emu::dnn::refusals()[0].calls, 2) << "once in the capture, once eagerly, never after";
}

// The whole backend with CUDA graphs: the fallback happens in the eager warm-up step, the
// captured and replayed steps run the algorithms taken, and training computes exactly what it
// computes without refusals (the stand-in's algorithms compute alike); its activations match the
// CPU backend's.
TEST_F(ConvFallback, GraphedTrainingWithRefusedAlgorithmsMatchesThePlainRun) {
  const Graph graph{tutorial_model(47)};
  BackendOptions o;
  o.max_batch = 3;
  o.seed = 7;
  std::vector<HostBatchLite> batches;
  for (uint32_t k = 0; k < 3; ++k) batches.push_back(HostBatchLite::make(graph, 3, 60 + k));
  CudaBackend plain(graph, o);
  plain.set_use_graphs(false);
  for (const auto& b : batches) plain.train_step(b.view());

  acts_emu::dnn::refuse(Pass::Forward, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_NOT_SUPPORTED);
  acts_emu::dnn::refuse(Pass::BackwardFilter, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_STATUS_EXECUTION_FAILED);
  CudaBackend refused(graph, o);
  refused.set_use_graphs(true);
  StderrCapture steps;
  for (const auto& b : batches) refused.train_step(b.view());
  const std::string log = steps.take();
  EXPECT_EQ(refused.graphs_captured(), 1u) << log;
  // conv2d_1..4 each: one forward and one backward-filter line.
  EXPECT_EQ(count_of(log, "using IMPLICIT_GEMM (FMA)"), 4u) << log;
  EXPECT_EQ(count_of(log, "using ALGO_0 (FMA)"), 4u) << log;
  EXPECT_EQ(count_of(log, "conv2d_3 (Conv2D"), 2u) << log;
  EXPECT_NE(refused.algorithms().find("conv2d_1: fwd IMPLICIT_GEMM (FMA), bwd-data ALGO_1 (FMA), bwd-filter ALGO_0"),
            std::string::npos)
      << refused.algorithms();
  EXPECT_EQ(refused.params(), plain.params());
  EXPECT_EQ(refused.opt_state(), plain.opt_state());
  const Metrics mr = refused.take_metrics(), mp = plain.take_metrics();
  EXPECT_EQ(mr.loss_sum, mp.loss_sum);
  EXPECT_EQ(mr.count, 9);

  CpuBackend cpu(graph, o);
  cpu.set_params(refused.params());
  cpu.forward(batches[0].view(), false);
  refused.forward(batches[0].view(), false);
  for (const Node& nd : graph.nodes()) {
    const auto r = cpu.activation(nd.spec.name);
    expect_close("activation " + nd.spec.name, refused.activation(nd.spec.name), r, kTol, kTol * max_abs(r));
  }
}

}  // namespace
