// dump_acts and train_gpu given Keras files, as users run them (CPU backend): a bad file ends in
// exit 2 and one "error:" line naming it, with no output folder or file made; a good .keras is
// fine-tuned, and the run's model.keras and an --export of it hold exactly the run's weights; a
// frozen layer is refused for training and run as it is by dump_acts.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app_files.h"
#include "run_process.h"
#include "runtime/core/checkpoint.h"
#include "runtime/keras/keras_file.h"
#include "runtime/keras/zip_archive.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using acts::testing::contains;
using acts::testing::error_lines;
using acts::testing::run;

namespace {

const std::string kTrain = ACTS_TRAIN_GPU;
const std::string kDump = ACTS_DUMP_ACTS;
const std::string kKeras = std::string(ACTS_TEST_DATA) + "/keras/";
const std::string kSample = std::string(ACTS_TEST_DATA) + "/../../data/sample";
const std::string kImages = kKeras + "x.npy";  // 3 photos, 24x24, k3's input size

const acts::testing::ScratchDirs kScratch("acts_keras_app_");
std::string tmpdir(const std::string& name) { return kScratch.fresh(name); }

// k3.keras rebuilt with `edit` applied to its config.json, written to `path`.
std::string edited_k3(const std::string& path, const std::function<void(json&)>& edit) {
  const acts::ZipReader z(kKeras + "k3.keras");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& name : z.entries()) {
    std::string bytes = z.read(name);
    if (name == "config.json") {
      json cfg = json::parse(bytes);
      edit(cfg);
      bytes = cfg.dump();
    }
    entries.emplace_back(name, bytes);
  }
  const std::string bytes = acts::make_zip(entries, path);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

json& named_layer(json& cfg, const std::string& name) {
  for (json& l : cfg["config"]["layers"])
    if (l["config"].value("name", "") == name) return l;
  throw std::runtime_error("no layer " + name + " in k3's config");
}

// Bad Keras files, each detected as one (HDF5 or zip signature), each refused for its own reason.
std::vector<std::string> bad_keras_files(const std::string& dir) {
  fs::create_directories(dir);
  const std::string whole = acts::testing::read_file(kKeras + "k3.keras");
  const std::string cut = dir + "/cut.keras";
  std::ofstream(cut, std::ios::binary) << whole.substr(0, whole.size() / 2);
  const std::string h5 = acts::testing::read_file(kKeras + "k2.h5");
  const std::string cut_h5 = dir + "/cut.h5";
  std::ofstream(cut_h5, std::ios::binary) << h5.substr(0, h5.size() - 100);
  const std::string bn = edited_k3(dir + "/layernorm.keras", [](json& cfg) {
    cfg["config"]["layers"].push_back({{"module", "keras.layers"}, {"class_name", "LayerNormalization"},
                                       {"config", {{"name", "layer_normalization"}}}});
  });
  return {cut, cut_h5, bn, kKeras + "k3.weights.h5" /* weights only, no --config */};
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST(KerasFilesApp, DumpActsRefusesABadKerasFileInOneLineAndMakesNoFolder) {
  const std::string dir = tmpdir("dump_bad");
  for (const std::string& bad : bad_keras_files(dir + "/files")) {
    SCOPED_TRACE(bad);
    const std::string out = dir + "/acts_out";
    const auto r = run(kDump + " --model " + bad + " --image " + kImages + " --device cpu --out " + out);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + bad + ": ")) << r.out;
    EXPECT_FALSE(contains(r.out, "terminate")) << r.out;
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST(KerasFilesApp, TrainGpuRefusesABadKerasFileBeforeMakingTheRunFolder) {
  const std::string dir = tmpdir("train_bad");
  for (const std::string& bad : bad_keras_files(dir + "/files")) {
    SCOPED_TRACE(bad);
    const std::string out = dir + "/run";
    const auto r = run(kTrain + " --data " + kSample + " --model " + bad + " --epochs 1 --steps-per-epoch 1 "
                       "--device cpu --out " + out);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + bad + ": ")) << r.out;
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST(KerasFilesApp, ExportRefusesABadTargetNameOrSourceAndWritesNothing) {
  const std::string dir = tmpdir("export_bad");
  fs::create_directories(dir);
  auto r = run(kTrain + " --model " + kKeras + "k3.keras --export " + dir + "/model.txt");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: --export " + dir + "/model.txt: name the file .keras")) << r.out;
  EXPECT_TRUE(fs::is_empty(dir));

  for (const std::string& bad : bad_keras_files(dir + "/../export_bad_files")) {
    SCOPED_TRACE(bad);
    r = run(kTrain + " --model " + bad + " --export " + dir + "/model.keras");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + bad + ": ")) << r.out;
    EXPECT_TRUE(fs::is_empty(dir));
  }
}

TEST(KerasFilesApp, FineTunesAKerasFileAndItsModelKerasHoldsTheRunsWeights) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string k3 = kKeras + "k3.keras", out = tmpdir("finetune");
  const acts::KerasModel source = acts::load_keras_model(k3);
  const auto r = run(kTrain + " --data " + kSample + " --model " + k3 + " --epochs 1 --steps-per-epoch 2 "
                     "--validation-steps 1 --batch-size 4 --device cpu --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Fine-tuning " + k3 + ": " + source.format + "; optimizer: " + source.opt_note))
      << r.out;
  const acts::Checkpoint final_ckpt = acts::load_checkpoint(out + "/final.safetensors");
  EXPECT_FALSE(bit_equal(final_ckpt.params, source.ckpt.params)) << "training did not move the weights";

  const acts::KerasModel saved = acts::load_keras_model(out + "/model.keras");
  EXPECT_EQ(acts::to_keras_json(saved.ckpt.model), acts::to_keras_json(final_ckpt.model));
  EXPECT_TRUE(bit_equal(saved.ckpt.params, final_ckpt.params));

  const std::string exported = out + "/exported.keras";
  const auto e = run(kTrain + " --model " + out + " --export " + exported);
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_TRUE(contains(e.out, "Wrote " + exported + " from " + out + "/final.safetensors")) << e.out;
  EXPECT_TRUE(bit_equal(acts::load_keras_model(exported).ckpt.params, final_ckpt.params));
  EXPECT_TRUE(acts::testing::no_temporary_files(out));
}

// A Keras file compiled with Adam (tests/fixtures/adam/adam3.keras: Keras 3, lr 1e-3, three steps)
// fine-tunes with Adam, its learning rate and its m, v and iteration count, and says so in one
// line; --lr and --optimizer win over the file, and another optimizer drops the Adam state.
TEST(KerasFilesApp, FineTuningTakesTheFilesOptimizerAndLearningRateUnlessAsked) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string adam3 = std::string(ACTS_TEST_DATA) + "/adam/adam3.keras", dir = tmpdir("file_optimizer");
  const std::string args = " --data " + kSample + " --model " + adam3 + " --epochs 1 --steps-per-epoch 1 "
                           "--validation-steps 1 --batch-size 3 --device cpu --out ";
  auto settings = [](const std::string& out) { return json::parse(acts::testing::read_file(out + "/run.json")); };
  auto r = run(kTrain + args + dir + "/own");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, adam3 + " was compiled with Adam, learning rate 0.001; training with adam (the "
                              "file's), lr 0.001 (the file's)")) << r.out;
  EXPECT_TRUE(contains(r.out, "imported the file's Adam m and v after 3 iterations")) << r.out;
  EXPECT_EQ(settings(dir + "/own").at("optimizer"), "adam");
  EXPECT_FLOAT_EQ(settings(dir + "/own").at("lr").get<float>(), 1e-3f);
  const acts::Checkpoint own = acts::load_checkpoint(dir + "/own/final.safetensors");
  EXPECT_EQ(own.meta.at("optimizer"), "adam");
  EXPECT_EQ(own.meta.at("optimizer_iterations"), "4");  // the file's 3 and one step here
  EXPECT_EQ(own.opt_state.size(), 2 * own.params.size());

  r = run(kTrain + args + dir + "/lr --lr 0.01");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "training with adam (the file's), lr 0.01 (--lr)")) << r.out;
  EXPECT_FLOAT_EQ(settings(dir + "/lr").at("lr").get<float>(), 0.01f);

  r = run(kTrain + args + dir + "/rmsprop --optimizer rmsprop");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "training with rmsprop (--optimizer), lr 0.0001 (the default)")) << r.out;
  EXPECT_TRUE(contains(r.out, "not used: training with rmsprop (--optimizer), which starts fresh")) << r.out;
  EXPECT_EQ(settings(dir + "/rmsprop").at("optimizer"), "rmsprop");
  const acts::Checkpoint rms = acts::load_checkpoint(dir + "/rmsprop/final.safetensors");
  EXPECT_EQ(rms.opt_state.size(), rms.params.size());
}

TEST(KerasFilesApp, AFrozenLayerIsRefusedForTrainingAndDumpedAsItIs) {
  const std::string dir = tmpdir("frozen");
  fs::create_directories(dir);
  const std::string frozen = edited_k3(dir + "/frozen.keras", [](json& cfg) {
    named_layer(cfg, "conv2d_1")["config"]["trainable"] = false;
  });
  auto r = run(kTrain + " --data " + kSample + " --model " + frozen + " --epochs 1 --steps-per-epoch 1 "
               "--device cpu --out " + dir + "/run");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: " + frozen + ": layer conv2d_1 is frozen (trainable: false)")) << r.out;
  EXPECT_TRUE(contains(r.out, "set trainable = True")) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/run"));

  // dump_acts runs it, with the outputs of the same model unfrozen (the flag is training's only).
  r = run(kDump + " --model " + frozen + " --image " + kImages + " --device cpu --out " + dir + "/acts");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(error_lines(r.out), 0) << r.out;
  const auto unfrozen = run(kDump + " --model " + kKeras + "k3.keras --image " + kImages + " --device cpu --out " +
                            dir + "/acts_unfrozen");
  ASSERT_EQ(unfrozen.code, 0) << unfrozen.out;
  const std::string got = acts::testing::read_file(dir + "/acts/conv2d_1.npy");
  EXPECT_GT(got.size(), 3u * 9 * 9 * 8 * 4);
  EXPECT_EQ(got, acts::testing::read_file(dir + "/acts_unfrozen/conv2d_1.npy"));
}
