// Reading Keras' own files: every layer's output on the CPU reference against Keras' (files and
// outputs from scripts/reference/make_keras_files.py: Keras 3.15.1, tf-keras 2.21, and an h5py
// file in Keras 2.0.8's layout), the optimizer state, weights-only files, and our own writers
// read back. "Equal" is issue 19's rule: max|ours - Keras| <= 1e-5 * max(1, max|Keras|) per layer.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/backend.h"
#include "runtime/core/head.h"
#include "runtime/core/npy.h"
#include "runtime/dump/dump.h"
#include "runtime/keras/keras_file.h"
#include "runtime/keras/keras_optimizer.h"
#include "runtime/keras/zip_archive.h"
#include "runtime/ops/op.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"

namespace acts {
namespace {

const std::string kDir = std::string(ACTS_TEST_DATA) + "/keras/";

// A backend's output of every layer for the fixtures' 3 photos (x.npy / 255), against
// golden_dir/<golden name>.npy; the golden names are the Keras model's layer names in order.
// `device`: "cpu" (the reference) or "cuda".
void expect_keras_outputs(const KerasModel& m, const std::string& golden_dir, const std::vector<std::string>& names,
                          const std::string& device = "cpu") {
  const Graph g(m.ckpt.model);
  ASSERT_EQ(g.nodes().size(), names.size());
  const NpyArray x = read_npy(kDir + "x.npy");
  BackendOptions o;
  o.max_batch = int(x.shape[0]);
  const std::unique_ptr<Backend> be = device == "cuda" ? make_cuda_backend(g, o) : make_cpu_backend(g, o);
  be->set_params(m.ckpt.params);
  Batch b;
  b.n = int(x.shape[0]);
  b.images = x.u8();
  b.scale = 1.f / 255.f;
  be->forward(b, false);
  for (size_t i = 0; i < names.size(); ++i) {
    const NpyArray ref = read_npy(golden_dir + "/" + names[i] + ".npy");
    const std::vector<float> want = ref.to_float();
    std::vector<float> got(want.size(), NAN);  // poisoned: a layer that is not written fails
    be->activation(g.nodes()[i].spec.name, got);
    ASSERT_EQ(got.size(), want.size()) << names[i];
    float peak = 1.f;
    for (float v : want) peak = std::max(peak, std::fabs(v));
    EXPECT_TRUE(test::close(g.nodes()[i].spec.name, got.data(), want.data(), want.size(), 0, 1e-5 * peak));
  }
}

std::vector<std::string> layer_names(const KerasModel& m) {
  std::vector<std::string> out;
  const Graph g(m.ckpt.model);
  for (const Node& n : g.nodes()) out.push_back(n.spec.name);
  return out;
}

TEST(KerasFiles, Keras3ArchiveMatchesKerasLayerByLayer) {
  const KerasModel m = load_keras_model(kDir + "k3.keras");
  EXPECT_EQ(m.format, "Keras 3 .keras (keras 3.15.1)");
  const std::vector<std::string> want = {"conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1",
                                         "flatten", "dropout", "dense", "dense_1"};
  EXPECT_EQ(layer_names(m), want);
  expect_keras_outputs(m, kDir + "k3_out", want);
}

TEST(KerasFiles, Keras3LegacyH5MatchesKerasLayerByLayer) {
  const KerasModel m = load_keras_model(kDir + "k3_legacy.h5");
  EXPECT_EQ(m.format, "Keras 3 legacy HDF5 (keras 3.15.1)");
  expect_keras_outputs(m, kDir + "k3_out", layer_names(m));
}

TEST(KerasFiles, Keras2H5MatchesKerasLayerByLayer) {
  const KerasModel m = load_keras_model(kDir + "k2.h5");
  EXPECT_EQ(m.format, "Keras 2 HDF5 (keras 2.21.0)");
  expect_keras_outputs(m, kDir + "k2_out", layer_names(m));
}

// The book's era: fixed-length strings, a layer list for a config, conv2d_1-style names, "lr".
// The weights are the k2 model's, so its outputs are the goldens, layer by layer in order.
TEST(KerasFiles, Keras208H5MatchesKerasAndImportsItsRmsprop) {
  const KerasModel m = load_keras_model(kDir + "k2_0_8.h5");
  EXPECT_EQ(m.format, "Keras 2 HDF5 (keras 2.0.8)");
  const std::vector<std::string> names = layer_names(m);
  EXPECT_EQ(names.front(), "conv2d_1");
  EXPECT_EQ(names.back(), "dense_2");
  expect_keras_outputs(m, kDir + "k2_out", layer_names(load_keras_model(kDir + "k2.h5")));
  EXPECT_EQ(m.optimizer, "RMSprop");
  EXPECT_NE(m.opt_note.find("imported"), std::string::npos) << m.opt_note;
  const std::vector<float> want = read_npy(kDir + "k2_0_8_accumulators.npy").to_float();
  EXPECT_EQ(m.ckpt.opt_state, want);  // bit for bit, in the graph's parameter order
  EXPECT_EQ(m.ckpt.meta.at("keras_learning_rate").substr(0, 6), "0.0001");
}

TEST(KerasFiles, RmspropStateOfKeras3AndTfKerasIsImported) {
  const KerasModel archive = load_keras_model(kDir + "k3.keras");
  const KerasModel legacy = load_keras_model(kDir + "k3_legacy.h5");
  const KerasModel k2 = load_keras_model(kDir + "k2.h5");
  for (const KerasModel* m : {&archive, &legacy, &k2}) {
    EXPECT_EQ(m->optimizer, "RMSprop") << m->format;
    ASSERT_EQ(m->ckpt.opt_state.size(), m->ckpt.params.size()) << m->format << ": " << m->opt_note;
    // Two RMSprop steps leave a^2 averages: non-negative, and non-zero where gradients flowed.
    EXPECT_TRUE(std::all_of(m->ckpt.opt_state.begin(), m->ckpt.opt_state.end(), [](float a) { return a >= 0; }));
    EXPECT_GT(*std::max_element(m->ckpt.opt_state.begin(), m->ckpt.opt_state.end()), 0.f) << m->format;
  }
  EXPECT_EQ(archive.ckpt.opt_state, legacy.ckpt.opt_state);  // one model saved twice
  EXPECT_EQ(archive.ckpt.params, legacy.ckpt.params);
}

TEST(KerasFiles, WeightsOnlyFilesEqualTheirFullModels) {
  KerasReadOptions o;
  o.config_json = kDir + "k3.json";
  const KerasModel k3w = load_keras_model(kDir + "k3.weights.h5", o);
  EXPECT_EQ(k3w.ckpt.params, load_keras_model(kDir + "k3.keras").ckpt.params);
  EXPECT_TRUE(k3w.ckpt.opt_state.empty());
  o.config_json = kDir + "k2.json";
  const KerasModel k2w = load_keras_model(kDir + "k2_weights.h5", o);
  EXPECT_EQ(k2w.ckpt.params, load_keras_model(kDir + "k2.h5").ckpt.params);
}

// What we write, we read back bit for bit, under the same layer names (Keras loading it is
// tests/keras/keras_load_exports_test.py).
TEST(KerasFiles, WrittenFilesReadBackExactly) {
  const KerasModel src = load_keras_model(kDir + "k2_0_8.h5");
  const std::string dir = testing::TempDir() + "/keras_write_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  for (const char* name : {"m.keras", "m.h5", "m.weights.h5"}) {
    const std::string path = dir + "/" + name;
    save_keras_model(path, src.ckpt);
    KerasReadOptions o;
    if (std::string(name) == "m.weights.h5") {
      o.config_json = dir + "/m.json";
      std::FILE* f = std::fopen(o.config_json.c_str(), "w");
      const std::string json = to_keras_json(Graph(src.ckpt.model).spec());
      std::fwrite(json.data(), 1, json.size(), f);
      std::fclose(f);
    }
    const KerasModel back = load_keras_model(path, o);
    EXPECT_EQ(back.ckpt.params, src.ckpt.params) << name;
    EXPECT_EQ(layer_names(back), layer_names(src)) << name;
    EXPECT_EQ(to_keras_json(Graph(back.ckpt.model).spec()), to_keras_json(Graph(src.ckpt.model).spec())) << name;
  }
  for (const auto& e : std::filesystem::directory_iterator(dir))  // atomic writes leave no temporaries
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  std::filesystem::remove_all(dir);
}

// A Conv2D without bias (use_bias=False) among layers with one, 'same' padding and strides:
// Keras' own .keras file (scripts/reference/ops/make_conv2d_padding_golden.py, the weights of
// the golden formula) reads to the same weights and layers, and what we write reads back the same.
TEST(KerasFiles, AConvWithoutBiasReadsAndWritesBack) {
  const KerasModel src = load_keras_model(kDir + "conv2d_padding.keras");
  const Graph g(src.ckpt.model);
  EXPECT_EQ(g.node("conv2d_3").params.size(), 1u);  // the kernel alone
  EXPECT_EQ(g.node("conv2d_2").spec.padding, Padding::Same);
  EXPECT_EQ(g.node("conv2d_2").spec.stride, 2);
  EXPECT_EQ(g.param_count(), 597u);
  test::expect_close("weights", src.ckpt.params, test::golden_params(g), 1e-7, 1e-9);
  const std::string dir = testing::TempDir() + "/keras_nobias_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  for (const char* name : {"m.keras", "m.h5"}) {
    const std::string path = dir + "/" + name;
    save_keras_model(path, src.ckpt);
    const KerasModel back = load_keras_model(path);
    EXPECT_EQ(back.ckpt.params, src.ckpt.params) << name;
    EXPECT_EQ(to_keras_json(Graph(back.ckpt.model).spec()), to_keras_json(g.spec())) << name;
  }
  std::filesystem::remove_all(dir);
}

// The same files on the GPU (strict fp32, deterministic cuDNN algorithms: the defaults): every
// layer equal to Keras' by the same rule. Skipped, with the reason, without a GPU; the device
// check (scripts/device_check.sh) runs it where one is lent.
TEST(KerasFilesCuda, EveryFormatMatchesKerasLayerByLayerOnTheGpu) {
  std::string why;
  if (!cuda_available(&why)) GTEST_SKIP() << why;
  const KerasModel k3 = load_keras_model(kDir + "k3.keras");
  expect_keras_outputs(k3, kDir + "k3_out", layer_names(k3), "cuda");
  const KerasModel k2 = load_keras_model(kDir + "k2.h5");
  expect_keras_outputs(k2, kDir + "k2_out", layer_names(k2), "cuda");
  const KerasModel old = load_keras_model(kDir + "k2_0_8.h5");
  expect_keras_outputs(old, kDir + "k2_out", layer_names(k2), "cuda");
}

// dump_acts on a Keras file: its default rescale is the tutorial's 1/255 (the goldens' input),
// --rescale changes it, --classes names the prediction.
TEST(KerasFiles, DumpActsReadsKerasFilesWithTheRescaleAsked) {
  const std::string out = testing::TempDir() + "/keras_dump_" + std::to_string(getpid());
  DumpConfig c;
  c.model = kDir + "k3.keras";
  c.images = {kDir + "x.npy"};
  c.layers = {"conv2d", "dense_1"};
  c.device = "cpu";
  c.out = out + "/default";
  testing::internal::CaptureStdout();
  dump_activations(c);
  c.rescale = 2.f / 255.f;
  c.classes = {"cats", "dogs"};
  c.out = out + "/twice";
  dump_activations(c);
  const std::string said = testing::internal::GetCapturedStdout();
  EXPECT_NE(said.find("Keras 3 .keras (keras 3.15.1)"), std::string::npos) << said;
  EXPECT_NE(said.find("P(dogs) = "), std::string::npos) << said;
  for (const char* layer : {"conv2d", "dense_1"}) {
    const std::vector<float> want = read_npy(kDir + "k3_out/" + layer + ".npy").to_float();
    const std::vector<float> got = read_npy(out + "/default/" + layer + ".npy").to_float();
    EXPECT_TRUE(test::close(layer, got.data(), want.data(), want.size(), 0, 1e-5)) << layer;
    EXPECT_NE(read_npy(out + "/twice/" + layer + ".npy").to_float(), want) << layer << ": --rescale was not used";
  }
  std::filesystem::remove_all(out);
}

// A model whose first layer is a Rescaling (the book's second edition) scales the pixels itself:
// from a Keras file, dump_acts hands them over as they are (0-255), unless --rescale says otherwise.
TEST(KerasFiles, AModelThatRescalesItsInputGetsThePixelsAsTheyAre) {
  std::ifstream f(std::string(ACTS_TEST_DATA) + "/ops/rescaling.json");  // Rescaling(2.5, offset -1) first
  const nlohmann::json golden = nlohmann::json::parse(f);
  const std::string dir = testing::TempDir() + "/keras_rescaling_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  Checkpoint c;
  c.model = parse_keras_json(golden["model_json"].get<std::string>(), "golden");
  const Graph g(c.model);
  c.params.assign(g.param_count(), 0.01f);
  save_keras_model(dir + "/m.keras", c);
  std::vector<uint8_t> pixels(g.input_size());
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t((i * 37) % 256);
  write_npy(dir + "/x.npy", pixels.data(), {1, 9, 7, 3});
  DumpConfig d;
  d.model = dir + "/m.keras";
  d.images = {dir + "/x.npy"};
  d.layers = {"rescaling_1"};
  d.device = "cpu";
  testing::internal::CaptureStdout();
  d.out = dir + "/own";
  dump_activations(d);
  d.rescale = 1.f / 255.f;
  d.out = dir + "/asked";
  dump_activations(d);
  const std::string said = testing::internal::GetCapturedStdout();
  EXPECT_NE(said.find("Input: pixels 0-255 as they are"), std::string::npos) << said;
  const std::vector<float> own = read_npy(dir + "/own/rescaling_1.npy").to_float();
  const std::vector<float> asked = read_npy(dir + "/asked/rescaling_1.npy").to_float();
  ASSERT_EQ(own.size(), pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) {
    EXPECT_FLOAT_EQ(own[i], float(pixels[i]) * 2.5f - 1.f) << i;
    EXPECT_FLOAT_EQ(asked[i], float(pixels[i]) * (1.f / 255.f) * 2.5f - 1.f) << i;
  }
  std::filesystem::remove_all(dir);
}

// The pooling layers of issue 21 (strides, 'same' padding, keepdims; no parameters) through our
// own Keras files and back: the same config and the parameters of the layers around them, bit
// for bit. Models from the op goldens (tests/fixtures/ops).
TEST(KerasFiles, PoolingLayersRoundTripThroughKerasFiles) {
  const std::string dir = testing::TempDir() + "/keras_pooling_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  for (const char* op : {"max_pooling2d", "average_pooling2d", "global_max_pooling2d"}) {
    std::ifstream f(std::string(ACTS_TEST_DATA) + "/ops/" + op + ".json");
    const nlohmann::json golden = nlohmann::json::parse(f);
    Checkpoint c;
    c.model = parse_keras_json(golden["model_json"].get<std::string>(), "golden");
    const Graph g(c.model);
    c.params.resize(g.param_count());
    for (size_t i = 0; i < c.params.size(); ++i) c.params[i] = 0.01f * float(i % 97) - 0.3f;
    for (const char* ext : {".keras", ".h5"}) {
      const std::string path = dir + "/" + op + ext;
      save_keras_model(path, c);
      const KerasModel back = load_keras_model(path);
      EXPECT_EQ(back.ckpt.params, c.params) << path;
      EXPECT_EQ(to_keras_json(Graph(back.ckpt.model).spec()), to_keras_json(g.spec())) << path;
    }
  }
  std::filesystem::remove_all(dir);
}

// BatchNormalization's moving statistics are parameters (non-trainable): every format we write
// keeps them, in Keras' order gamma, beta, moving_mean, moving_variance, and reads them back.
TEST(KerasFiles, BatchNormalizationMovingStatisticsRoundTrip) {
  std::ifstream golden(std::string(ACTS_TEST_DATA) + "/ops/batch_normalization.json");
  Checkpoint c;
  c.model = parse_keras_json(nlohmann::json::parse(golden)["model_json"].get<std::string>(), "golden");
  const Graph g(c.model);
  c.params.resize(g.param_count());
  for (size_t i = 0; i < c.params.size(); ++i) c.params[i] = 0.5f + float(i % 97) / 64.f;  // every value its own
  const std::string dir = testing::TempDir() + "/keras_bn_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  for (const char* name : {"m.keras", "m.h5", "m.weights.h5"}) {
    const std::string path = dir + "/" + name;
    save_keras_model(path, c);
    KerasReadOptions o;
    if (std::string(name) == "m.weights.h5") {
      o.config_json = dir + "/m.json";
      std::ofstream(o.config_json) << to_keras_json(g.spec());
    }
    const KerasModel back = load_keras_model(path, o);
    EXPECT_EQ(back.ckpt.params, c.params) << name;
    EXPECT_EQ(Graph(back.ckpt.model).summary(), g.summary()) << name;
  }
  std::filesystem::remove_all(dir);
}

// Keras keeps an optimizer slot per trainable variable only: BatchNormalization's moving
// statistics have none, and their accumulators start at zero.
TEST(KerasFiles, RmspropSlotsMapOntoTheTrainableTensorsOnly) {
  std::ifstream golden(std::string(ACTS_TEST_DATA) + "/ops/batch_normalization.json");
  const Graph g(parse_keras_json(nlohmann::json::parse(golden)["model_json"].get<std::string>(), "golden"));
  OptimizerSource src;
  src.tensors.push_back(H5Tensor{{}, {7.f}});  // the step counter, a scalar
  for (const ParamRef& p : g.params())
    if (p.trainable) src.tensors.push_back(H5Tensor{p.shape, std::vector<float>(p.size, 0.25f)});
  src.config = {{"class_name", "RMSprop"}};
  KerasModel m;
  import_optimizer(src, g, m);
  ASSERT_EQ(m.ckpt.opt_state.size(), g.param_count()) << m.opt_note;
  for (const ParamRef& p : g.params()) EXPECT_EQ(m.ckpt.opt_state[p.offset], p.trainable ? 0.25f : 0.f) << p.name;
}

// The optimizer rules (keras_optimizer.h) on the k2 model's shapes.
class KerasOptimizer : public testing::Test {
 protected:
  void SetUp() override {
    model = load_keras_model(kDir + "k2.h5");
    graph = std::make_unique<Graph>(model.ckpt.model);
    for (const ParamRef& p : graph->params()) {
      H5Tensor t;
      t.shape = p.shape;
      t.data.assign(p.size, 0.25f);
      src.tensors.push_back(t);
    }
    src.tensors.insert(src.tensors.begin(), H5Tensor{{}, {7.f}});  // the step counter, a scalar
  }
  KerasModel import(const nlohmann::json& config) {
    KerasModel m;
    src.config = config;
    import_optimizer(src, *graph, m);
    return m;
  }
  KerasModel model;
  std::unique_ptr<Graph> graph;
  OptimizerSource src;
};

TEST_F(KerasOptimizer, PlainRmspropMapsOnePerParameterTensor) {
  const KerasModel m = import({{"class_name", "Custom>RMSprop"}, {"config", {{"rho", 0.9}, {"momentum", 0.0}}}});
  EXPECT_EQ(m.optimizer, "RMSprop");
  EXPECT_EQ(m.ckpt.opt_state, std::vector<float>(graph->param_count(), 0.25f));
}

TEST_F(KerasOptimizer, OtherOptimizersStartFreshAndSaySo) {
  // (Adam was one of them until train_gpu had Adam: the Adam tests below.)
  const KerasModel sgd = import({{"class_name", "SGD"}, {"config", {{"learning_rate", 0.01}}}});
  EXPECT_TRUE(sgd.ckpt.opt_state.empty());
  EXPECT_NE(sgd.opt_note.find("trained with SGD"), std::string::npos) << sgd.opt_note;
  EXPECT_EQ(sgd.ckpt.meta.at("keras_learning_rate").substr(0, 4), "0.01");
  const KerasModel momentum = import({{"class_name", "RMSprop"}, {"config", {{"momentum", 0.9}}}});
  EXPECT_TRUE(momentum.ckpt.opt_state.empty());
  EXPECT_NE(momentum.opt_note.find("momentum"), std::string::npos) << momentum.opt_note;
  const KerasModel unnamed = import(nlohmann::json());
  EXPECT_TRUE(unnamed.ckpt.opt_state.empty());
  EXPECT_NE(unnamed.opt_note.find("does not name its optimizer"), std::string::npos) << unnamed.opt_note;
}

// Adam's slots as the three Keras generations lay them out, each onto opt_state as m then v with
// the iteration count (the first scalar). Values: m of tensor i is 1 + i, v is 100 + i.
class KerasAdam : public KerasOptimizer {
 protected:
  H5Tensor slot(size_t i, float base) {
    const ParamRef& p = graph->params()[i];
    return H5Tensor{p.shape, std::vector<float>(p.size, base + float(i))};
  }
  std::vector<float> want() {
    std::vector<float> s(2 * graph->param_count());
    const size_t n = graph->param_count();
    for (size_t i = 0; i < graph->params().size(); ++i) {
      const ParamRef& p = graph->params()[i];
      std::fill_n(s.begin() + long(p.offset), p.size, 1.f + float(i));
      std::fill_n(s.begin() + long(n + p.offset), p.size, 100.f + float(i));
    }
    return s;
  }
  const nlohmann::json adam = {{"class_name", "Adam"}, {"config", {{"learning_rate", 0.001}, {"amsgrad", false}}}};
};

TEST_F(KerasAdam, Keras3InterleavesMomentumAndVelocity) {
  src.tensors = {H5Tensor{{}, {7.f}}, H5Tensor{{}, {0.001f}}};  // iterations, learning_rate
  for (size_t i = 0; i < graph->params().size(); ++i) {
    src.tensors.push_back(slot(i, 1.f));
    src.tensors.push_back(slot(i, 100.f));
  }
  src.name = "adam";
  const KerasModel m = import(adam);
  EXPECT_EQ(m.optimizer, "Adam");
  EXPECT_EQ(m.ckpt.opt_state, want()) << m.opt_note;
  EXPECT_EQ(m.ckpt.meta.at("optimizer"), "adam");
  EXPECT_EQ(m.ckpt.meta.at("optimizer_iterations"), "7");
  EXPECT_NE(m.opt_note.find("imported the file's Adam m and v after 7 iterations"), std::string::npos) << m.opt_note;
}

TEST_F(KerasAdam, TfKerasNamesItsSlotsAndKeras2BlocksThem) {
  // tf.keras 2.x: "Adam/iter:0", then per variable ".../m:0" and ".../v:0" (here v first: the
  // names decide, not the order).
  src.tensors = {H5Tensor{{}, {12.f}}};
  src.names = {"Adam/iter:0"};
  for (size_t i = 0; i < graph->params().size(); ++i) {
    src.tensors.push_back(slot(i, 100.f));
    src.names.push_back("Adam/" + graph->params()[i].name + "/v:0");
    src.tensors.push_back(slot(i, 1.f));
    src.names.push_back("Adam/" + graph->params()[i].name + "/m:0");
  }
  const KerasModel tf = import(adam);
  EXPECT_EQ(tf.ckpt.opt_state, want()) << tf.opt_note;
  EXPECT_EQ(tf.ckpt.meta.at("optimizer_iterations"), "12");
  // Keras 2 (the book's era): [iterations] + ms + vs, named Variable_k.
  src.tensors = {H5Tensor{{}, {3.f}}};
  src.names = {"training/Adam/Variable:0"};
  for (float base : {1.f, 100.f})
    for (size_t i = 0; i < graph->params().size(); ++i) {
      src.tensors.push_back(slot(i, base));
      src.names.push_back("training/Adam/Variable_" + std::to_string(src.names.size()) + ":0");
    }
  const KerasModel k2 = import(adam);
  EXPECT_EQ(k2.ckpt.opt_state, want()) << k2.opt_note;
  EXPECT_EQ(k2.ckpt.meta.at("optimizer_iterations"), "3");
}

TEST_F(KerasAdam, AmsgradOrSlotsThatDoNotMapStartFresh) {
  // SetUp's tensors: one per parameter, not an m and a v each.
  const KerasModel short_of_v = import(adam);
  EXPECT_TRUE(short_of_v.ckpt.opt_state.empty());
  EXPECT_NE(short_of_v.opt_note.find("not an m and a v"), std::string::npos) << short_of_v.opt_note;
  EXPECT_NE(short_of_v.opt_note.find("Adam starts fresh"), std::string::npos) << short_of_v.opt_note;
  // Slots that map but an iteration count that is no count (a damaged file): fresh, said.
  src.tensors = {H5Tensor{{}, {std::numeric_limits<float>::infinity()}}};
  for (size_t i = 0; i < graph->params().size(); ++i) {
    src.tensors.push_back(slot(i, 1.f));
    src.tensors.push_back(slot(i, 100.f));
  }
  const KerasModel no_count = import(adam);
  EXPECT_TRUE(no_count.ckpt.opt_state.empty());
  EXPECT_NE(no_count.opt_note.find("no iteration count"), std::string::npos) << no_count.opt_note;
  const KerasModel ams = import({{"class_name", "Adam"}, {"config", {{"amsgrad", true}}}});
  EXPECT_TRUE(ams.ckpt.opt_state.empty());
  EXPECT_NE(ams.opt_note.find("amsgrad"), std::string::npos) << ams.opt_note;
}

// A real Keras 3 file compiled with Adam and trained three steps (scripts/reference/
// make_adam_golden.py): its m and v are Keras' own after those steps, bit for bit, in the graph's
// order; its iteration count and learning rate come along.
TEST(KerasFiles, Keras3AdamStateIsImported) {
  const std::string dir = std::string(ACTS_TEST_DATA) + "/adam/";
  const KerasModel m = load_keras_model(dir + "adam3.keras");
  std::ifstream in(dir + "keras3_adam3.json");
  const nlohmann::json golden = nlohmann::json::parse(in);
  EXPECT_EQ(m.optimizer, "Adam");
  std::vector<float> want = golden.at("m").get<std::vector<float>>();
  const std::vector<float> v = golden.at("v").get<std::vector<float>>();
  want.insert(want.end(), v.begin(), v.end());
  EXPECT_EQ(m.ckpt.opt_state, want) << m.opt_note;
  EXPECT_EQ(m.ckpt.params, golden.at("w").get<std::vector<float>>());
  EXPECT_EQ(m.ckpt.meta.at("optimizer_iterations"), "3");
  EXPECT_EQ(m.ckpt.meta.at("keras_learning_rate").substr(0, 5), "0.001");
}

TEST_F(KerasOptimizer, TensorsThatDoNotMapStartFresh) {
  src.tensors.pop_back();  // one accumulator short
  const KerasModel m = import({{"class_name", "RMSprop"}});
  EXPECT_TRUE(m.ckpt.opt_state.empty());
  EXPECT_NE(m.opt_note.find("do not map one to one"), std::string::npos) << m.opt_note;
}

// The book's second edition nests its augmentation (RandomFlip, RandomRotation, RandomZoom) in a
// Sequential model before Rescaling: a Keras 3 file of that shape
// (scripts/reference/make_second_edition.py --small) reads, takes its pixels as 0-255, and predicts
// what Keras predicts (inference: the random layers pass their input through).
TEST(KerasFiles, TheSecondEditionsAugmentedModelReadsAndPredictsAsKeras) {
  const KerasModel m = load_keras_model(kDir + "augmented.keras");
  const Graph g(m.ckpt.model);
  EXPECT_EQ(layer_names(m), (std::vector<std::string>{"random_flip", "random_rotation", "random_zoom", "rescaling",
                                                      "conv2d", "max_pooling2d", "flatten", "dropout", "dense"}));
  EXPECT_TRUE(rescales_its_input(g.spec()));
  const NpyArray x = read_npy(kDir + "augmented_x.npy");
  const std::vector<float> want = read_npy(kDir + "augmented_out.npy").to_float();
  BackendOptions o;
  o.max_batch = int(x.shape[0]);
  const std::unique_ptr<Backend> be = make_cpu_backend(g, o);
  be->set_params(m.ckpt.params);
  Batch b;
  b.n = int(x.shape[0]);
  b.images = x.u8();
  b.scale = 1.f;  // the model rescales
  be->forward(b, false);
  test::expect_close("predictions", be->predictions(), want, 1e-5, 1e-6);
}

// The loss a file was compiled with, which picks train_gpu's class mode: Keras 3's and Keras 2's
// files name it (the fixtures: binary_crossentropy); a serialised loss object names it in its
// config, with the arguments train_gpu does not take; a list of losses (several outputs) or a
// weights-only file names none.
TEST(KerasFiles, TheCompiledLossIsRead) {
  for (const char* f : {"k3.keras", "k3_legacy.h5", "k2.h5", "k2_0_8.h5"}) {
    const KerasModel m = load_keras_model(kDir + f);
    EXPECT_EQ(m.loss, "binary_crossentropy") << f;
    EXPECT_EQ(m.loss_args, "") << f;
  }
  KerasReadOptions weights_only;
  weights_only.config_json = kDir + "k3.json";
  EXPECT_EQ(load_keras_model(kDir + "k3.weights.h5", weights_only).loss, "");

  const ZipReader k3(kDir + "k3.keras");
  auto with_loss = [&](const nlohmann::json& loss) {
    nlohmann::json config = nlohmann::json::parse(k3.read("config.json"));
    config["compile_config"]["loss"] = loss;
    std::vector<std::pair<std::string, std::string>> entries;
    for (const std::string& e : k3.entries()) entries.emplace_back(e, e == "config.json" ? config.dump() : k3.read(e));
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("acts_loss_" + std::to_string(getpid()) + ".keras")).string();
    std::ofstream(path, std::ios::binary) << make_zip(entries, path);
    KerasModel m = load_keras_model(path);
    std::filesystem::remove(path);
    return m;
  };
  const KerasModel sparse = with_loss(
      {{"module", "keras.losses"}, {"class_name", "SparseCategoricalCrossentropy"},
       {"config", {{"name", "sparse_categorical_crossentropy"}, {"from_logits", true}, {"ignore_class", nullptr}}}});
  EXPECT_EQ(sparse.loss, "sparse_categorical_crossentropy");
  EXPECT_EQ(sparse.loss_args, "from_logits=True");
  const KerasModel smoothed = with_loss(
      {{"class_name", "CategoricalCrossentropy"},
       {"config", {{"name", "categorical_crossentropy"}, {"from_logits", false}, {"label_smoothing", 0.1}}}});
  EXPECT_EQ(smoothed.loss, "categorical_crossentropy");
  EXPECT_EQ(smoothed.loss_args, "label_smoothing=0.1");
  EXPECT_EQ(with_loss({"binary_crossentropy", "mse"}).loss, "");
  EXPECT_EQ(with_loss("binary_crossentropy\n\x1b[2Jerror: fake").loss, "") << "printed: identifiers only";

  ClassMode mode = ClassMode::kBinary;
  EXPECT_TRUE(class_mode_of_loss(sparse.loss, &mode));
  EXPECT_EQ(mode, ClassMode::kSparse);
  EXPECT_TRUE(class_mode_of_loss(smoothed.loss, &mode));
  EXPECT_EQ(mode, ClassMode::kCategorical);
  EXPECT_FALSE(class_mode_of_loss("mean_squared_error", &mode));
}

}  // namespace
}  // namespace acts
