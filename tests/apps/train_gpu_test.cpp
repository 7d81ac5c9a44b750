// train_gpu as a user runs it (CPU backend, the bundled sample at a small image size): the run
// folder, Keras-like output, exact resume after kill -9, Ctrl-C or a hangup, and bad input.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app_files.h"
#include "run_process.h"
#include "runtime/core/checkpoint.h"
#include "runtime/core/graph.h"

namespace fs = std::filesystem;
using acts::testing::contains;
using acts::testing::history_without_seconds;
using acts::testing::read_file;
using acts::testing::run;
using acts::testing::spawn;

namespace {

const std::string kBin = ACTS_TRAIN_GPU;
const std::string kSample = std::string(ACTS_TEST_DATA) + "/../../data/sample";
// Small and quick on 2 cores: 48x48 input, batches of 4.
const std::string kSmall = " --device cpu --image-size 48 --batch-size 4 --validation-steps 2 --seed 5";
const std::string kQuick = kSmall + " --steps-per-epoch 3";

const acts::testing::ScratchDirs kScratch("acts_train_test_");
std::string tmpdir(const std::string& name) { return kScratch.fresh(name); }

std::vector<float> final_params(const std::string& run_dir) {
  return acts::load_checkpoint(run_dir + "/final.safetensors").params;
}

}  // namespace

TEST(TrainGpu, WritesTheWholeRunFolderWithKerasLikeOutput) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("full");
  const auto r = run(kBin + " --data " + kSample + " --epochs 2 --out " + out + kQuick);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Total params: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "images belonging to 2 classes.")) << r.out;
  EXPECT_TRUE(contains(r.out, "Epoch 2/2")) << r.out;
  EXPECT_TRUE(contains(r.out, "3/3 [==============================]")) << r.out;
  EXPECT_TRUE(contains(r.out, " - val_acc: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "test_acc: ")) << r.out;
  for (const char* f : {"run.json", "history.csv", "last.safetensors", "best.safetensors", "final.safetensors",
                        "results.json"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
#ifdef ACTS_WITH_OPENCV
  EXPECT_GT(fs::file_size(out + "/curves.png"), 10000u);
#endif
  const std::string hist = read_file(out + "/history.csv");
  EXPECT_EQ(hist.rfind("epoch,loss,acc,val_loss,val_acc,seconds\n", 0), 0u) << hist;
  EXPECT_EQ(std::count(hist.begin(), hist.end(), '\n'), 3) << hist;
  EXPECT_TRUE(contains(read_file(out + "/results.json"), "\"test\"")) << read_file(out + "/results.json");
  // Channel statistics (issue 22): a record before training and one at each epoch's end, for
  // every layer with channels of its own (flatten_1 has none), and their page.
  const auto index = nlohmann::json::parse(read_file(out + "/stats/index.json"));
  EXPECT_EQ(index["records"], nlohmann::json::parse(R"([{"epoch":0,"step":0},{"epoch":1,"step":3},)"
                                                    R"({"epoch":2,"step":3}])"));
  EXPECT_EQ(index["layers"].size(), 10u);
  EXPECT_EQ(index["probe"]["images"].size(), 32u);
  EXPECT_TRUE(contains(read_file(out + "/stats.html"), "<h2>conv2d_4 <small>(Conv2D, 128 channels)"));
  // The same seed gives the same run.
  const std::string again = tmpdir("full_again");
  ASSERT_EQ(run(kBin + " --data " + kSample + " --epochs 2 --out " + again + kQuick).code, 0);
  EXPECT_EQ(history_without_seconds(out), history_without_seconds(again));
  EXPECT_EQ(final_params(out), final_params(again));
  EXPECT_EQ(read_file(out + "/stats/conv2d_3.npy"), read_file(again + "/stats/conv2d_3.npy"));
  // The probe passes leave training as it was: without them, or with one after every step, the
  // run ends with the same weights.
  const std::string none = tmpdir("no_stats"), every = tmpdir("stats_every_step");
  ASSERT_EQ(run(kBin + " --data " + kSample + " --epochs 2 --stats-probe 0 --out " + none + kQuick).code, 0);
  EXPECT_FALSE(fs::exists(none + "/stats.html"));
  EXPECT_FALSE(fs::exists(none + "/stats"));
  EXPECT_EQ(final_params(none), final_params(out));
  ASSERT_EQ(run(kBin + " --data " + kSample + " --epochs 2 --stats-every 1 --out " + every + kQuick).code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(every + "/stats/index.json"))["records"].size(), 7u);  // 1 + 2 x 3
  EXPECT_EQ(final_params(every), final_params(out));
  // An existing run is never overwritten without --resume or --force.
  const auto refused = run(kBin + " --data " + kSample + " --epochs 1 --out " + out + kQuick);
  EXPECT_EQ(refused.code, 1);
  EXPECT_TRUE(contains(refused.out, "--resume")) << refused.out;
}

// --keep-every N keeps the weights after every N-th epoch in epochs/ (issue 22: activations across
// epochs), says up front what they will take on disk, and each file is what dump_acts loads.
TEST(TrainGpu, KeepEveryKeepsTheWeightsOfThoseEpochsAndSaysWhatTheyTake) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("kept");
  const auto r = run(kBin + " --data " + kSample + " --epochs 2 --keep-every 1 --out " + out + kQuick);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string said = "Keeping the weights every 1 epoch in " + out + "/epochs: 2 files of ";
  ASSERT_TRUE(contains(r.out, said)) << r.out;
  const double mb = std::stod(r.out.substr(r.out.find(said) + said.size()));
  for (const char* f : {"epoch_001.safetensors", "epoch_002.safetensors"})
    EXPECT_LE(double(fs::file_size(out + "/epochs/" + f)) / 1e6, mb) << f << ": larger than said";
  const acts::Checkpoint one = acts::load_checkpoint(out + "/epochs/epoch_001.safetensors");
  const acts::Checkpoint two = acts::load_checkpoint(out + "/epochs/epoch_002.safetensors");
  EXPECT_EQ(one.meta.at("epoch"), "1");
  EXPECT_TRUE(two.opt_state.empty()) << "weights only";
  EXPECT_NE(one.params, two.params);
  EXPECT_EQ(two.params, final_params(out));
  // Every 2 epochs of 3: epoch 2 only.
  const std::string every2 = tmpdir("kept2");
  ASSERT_EQ(run(kBin + " --data " + kSample + " --epochs 3 --keep-every 2 --out " + every2 + kQuick).code, 0);
  std::vector<std::string> kept;
  for (const auto& e : fs::directory_iterator(every2 + "/epochs")) kept.push_back(e.path().filename().string());
  EXPECT_EQ(kept, std::vector<std::string>{"epoch_002.safetensors"});
}

// How many weights did not move as `rule` says on the first step of a run (seed 5). The step is
// checked without recomputing the gradient: after one step from a = 0 the accumulator holds
// (1 - rho) g^2, which gives |g|, and |w0 - w1| must be lr |g| / (sqrt(a) + 1e-8) (keras2) or
// lr |g| / sqrt(a + 1e-7) (keras3). For |g| near 1e-4 the two differ tenfold.
size_t weights_not_moved_by(const std::string& run_dir, const std::string& rule) {
  const acts::Checkpoint c = acts::load_checkpoint(run_dir + "/last.safetensors");
  const std::vector<float> w0 = acts::init_params(acts::Graph(c.model), 5);
  EXPECT_EQ(w0.size(), c.params.size());
  EXPECT_EQ(w0.size(), c.opt_state.size());
  size_t bad = 0, moved = 0;
  for (size_t i = 0; i < w0.size() && i < c.params.size() && i < c.opt_state.size(); ++i) {
    const double a = c.opt_state[i], g = std::sqrt(a / double(1.f - 0.9f));
    const double want =
        rule == "keras3" ? 1e-4 * g / std::sqrt(a + double(1e-7f)) : 1e-4 * g / (std::sqrt(a) + double(1e-8f));
    const double got = std::fabs(double(w0[i]) - double(c.params[i]));
    // w1 is rounded to float: allow an ulp of the weight beside 1e-4 of the step.
    if (std::fabs(got - want) > 1e-4 * want + 2 * std::ldexp(1.0, std::ilogb(w0[i]) - 23)) ++bad;
    moved += got > 0;
  }
  // Units a relu keeps at 0 for all 4 images get no gradient: about half the weights move.
  EXPECT_GT(moved, w0.size() / 4) << "the step moved too few weights to tell the rules apart";
  return bad;
}

TEST(TrainGpu, RmspropRuleIsTheOneAskedForAndKeptOnResume) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string one = " --data " + kSample + " --steps-per-epoch 1" + kSmall;
  const std::string k2 = tmpdir("rule_keras2"), k3 = tmpdir("rule_keras3");
  ASSERT_EQ(run(kBin + one + " --epochs 1 --out " + k2).code, 0);
  ASSERT_EQ(run(kBin + one + " --epochs 1 --rmsprop keras3 --out " + k3).code, 0);
  EXPECT_EQ(weights_not_moved_by(k2, "keras2"), 0u) << "the default is Keras 2's rule";
  EXPECT_EQ(weights_not_moved_by(k3, "keras3"), 0u);
  EXPECT_GT(weights_not_moved_by(k3, "keras2"), 1000u) << "the check cannot tell the rules apart";
  EXPECT_EQ(nlohmann::json::parse(read_file(k3 + "/run.json")).at("rmsprop"), "keras3");

  // Resumed for a second epoch, the run keeps its rule: it ends where an uninterrupted one does.
  const std::string whole = tmpdir("rule_keras3_whole");
  ASSERT_EQ(run(kBin + one + " --epochs 2 --rmsprop keras3 --out " + whole).code, 0);
  const auto resumed = run(kBin + " --resume " + k3 + " --epochs 2 --device cpu");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(final_params(k3), final_params(whole));

  // A run from before --rmsprop existed (no "rmsprop" in its settings) resumes with Keras 2's rule.
  const std::string k2_whole = tmpdir("rule_keras2_whole");
  ASSERT_EQ(run(kBin + one + " --epochs 2 --out " + k2_whole).code, 0);
  acts::Checkpoint c = acts::load_checkpoint(k2 + "/last.safetensors");
  auto settings = nlohmann::json::parse(c.meta.at("train_config"));
  ASSERT_EQ(settings.erase("rmsprop"), 1u);
  c.meta["train_config"] = settings.dump();
  acts::save_checkpoint(k2 + "/last.safetensors", c);
  std::ofstream(k2 + "/run.json") << settings.dump(2) << "\n";
  const auto old = run(kBin + " --resume " + k2 + " --epochs 2 --device cpu");
  ASSERT_EQ(old.code, 0) << old.out;
  EXPECT_EQ(final_params(k2), final_params(k2_whole));
}

// --optimizer adam: Keras 3's Adam at its default lr 1e-3 (run.json), m and v in the checkpoints,
// and a run resumed for its second epoch ends where an uninterrupted one does, bit for bit.
TEST(TrainGpu, AdamIsAskedForAndResumesExactly) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string one = " --data " + kSample + " --steps-per-epoch 2" + kSmall + " --optimizer adam";
  const std::string part = tmpdir("adam_part"), whole = tmpdir("adam_whole");
  ASSERT_EQ(run(kBin + one + " --epochs 1 --out " + part).code, 0);
  const auto settings = nlohmann::json::parse(read_file(part + "/run.json"));
  EXPECT_EQ(settings.at("optimizer"), "adam");
  EXPECT_FLOAT_EQ(settings.at("lr").get<float>(), 1e-3f);
  const acts::Checkpoint c = acts::load_checkpoint(part + "/last.safetensors");
  EXPECT_EQ(c.meta.at("optimizer"), "adam");
  EXPECT_EQ(c.meta.at("optimizer_iterations"), "2");
  EXPECT_EQ(c.opt_state.size(), 2 * c.params.size());
  ASSERT_EQ(run(kBin + one + " --epochs 2 --out " + whole).code, 0);
  const auto resumed = run(kBin + " --resume " + part + " --epochs 2 --device cpu");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(final_params(part), final_params(whole));
  EXPECT_EQ(acts::load_checkpoint(part + "/final.safetensors").opt_state,
            acts::load_checkpoint(whole + "/final.safetensors").opt_state);
  EXPECT_EQ(history_without_seconds(part), history_without_seconds(whole));
}

// --rescale feeds the pixels times it (a run at 2/255 learns other weights than one at 1/255),
// is part of the run (run.json, the checkpoint's metadata for dump_acts) and cannot change on
// resume; a run from before the flag resumes at 1/255.
TEST(TrainGpu, RescaleIsTheOneAskedForAndKeptInTheRun) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string one = " --data " + kSample + " --steps-per-epoch 1 --epochs 1" + kSmall;
  const std::string plain = tmpdir("rescale_default"), twice = tmpdir("rescale_2"), frac = tmpdir("rescale_frac");
  ASSERT_EQ(run(kBin + one + " --out " + plain).code, 0);
  ASSERT_EQ(run(kBin + one + " --rescale 2/255 --out " + twice).code, 0);
  ASSERT_EQ(run(kBin + one + " --rescale 0.00392156863 --out " + frac).code, 0);
  EXPECT_NE(final_params(plain), final_params(twice));
  EXPECT_EQ(final_params(plain), final_params(frac)) << "1/255 is the default";
  const acts::Checkpoint c = acts::load_checkpoint(twice + "/final.safetensors");
  EXPECT_NEAR(std::stod(c.meta.at("rescale")), 2.0 / 255, 1e-9);
  EXPECT_NEAR(nlohmann::json::parse(read_file(twice + "/run.json")).at("rescale").get<double>(), 2.0 / 255, 1e-9);
  const auto changed = run(kBin + " --resume " + twice + " --epochs 2 --rescale 1/255 --device cpu");
  EXPECT_EQ(changed.code, 2) << changed.out;
  EXPECT_TRUE(contains(changed.out, "--rescale cannot change when resuming")) << changed.out;
  for (const char* bad : {"0", "-1/255", "1/0", "x", "1/255/3"}) {
    const auto r = run(kBin + one + " --rescale " + bad + " --out " + tmpdir("rescale_bad"));
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
    EXPECT_TRUE(contains(r.out, "is not a positive number or fraction")) << bad << ": " << r.out;
  }
}

// A model whose first layer is a Rescaling scales the pixels itself: the run feeds them as they
// are (rescale 1, said and recorded) unless --rescale is given.
TEST(TrainGpu, AModelThatRescalesItsInputGetsThePixelsAsTheyAre) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string dir = tmpdir("rescaling_model");
  fs::create_directories(dir);
  std::ofstream(dir + "/m.json") << R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 24, 24, 3]}},
    {"class_name": "Rescaling", "config": {"name": "rescaling", "scale": 0.00392156862745098, "offset": 0.0}},
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 4, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}]}})";
  const std::string one = " --data " + kSample + " --model " + dir + "/m.json --steps-per-epoch 1 --epochs 1"
                          " --device cpu --batch-size 4 --validation-steps 1 --seed 5";
  const auto own = run(kBin + one + " --out " + dir + "/own");
  ASSERT_EQ(own.code, 0) << own.out;
  EXPECT_TRUE(contains(own.out, "Input: pixels 0-255 as they are")) << own.out;
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/own/run.json")).at("rescale").get<double>(), 1.0);
  const auto asked = run(kBin + one + " --rescale 1/255 --out " + dir + "/asked");
  ASSERT_EQ(asked.code, 0) << asked.out;
  EXPECT_FALSE(contains(asked.out, "as they are")) << asked.out;
  EXPECT_NE(final_params(dir + "/own"), final_params(dir + "/asked"));
}

// The second edition's way: augmentation layers in the model (nested, as its data_augmentation),
// Rescaling, and Keras' image_dataset_from_directory (batches of 32, a whole pass per epoch,
// bilinear resize). The sample's 80 training and 40 validation photos make 3 and 2 batches of 32.
// The random layers warp in training (the run differs from one without them) and a resumed run
// draws the same transforms as an uninterrupted one.
TEST(TrainGpu, TheSecondEditionsAugmentedModelTrainsWithItsInputPipeline) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string dir = tmpdir("second_edition");
  fs::create_directories(dir);
  const std::string head = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 24, 24, 3]}},)";
  const std::string tail = R"(
    {"class_name": "Rescaling", "config": {"name": "rescaling", "scale": 0.00392156862745098, "offset": 0.0}},
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 4, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}]}})";
  std::ofstream(dir + "/aug.json") << head << R"(
    {"class_name": "Sequential", "config": {"name": "data_augmentation", "layers": [
      {"class_name": "RandomFlip", "config": {"name": "random_flip", "mode": "horizontal"}},
      {"class_name": "RandomRotation", "config": {"name": "random_rotation", "factor": 0.1}},
      {"class_name": "RandomZoom", "config": {"name": "random_zoom", "height_factor": 0.2}}]}},)" << tail;
  std::ofstream(dir + "/plain.json") << head << tail;
  const std::string flags = " --data " + kSample + " --input-pipeline image_dataset_from_directory --device cpu"
                            " --seed 5";
  const auto aug = run(kBin + flags + " --model " + dir + "/aug.json --epochs 2 --out " + dir + "/aug");
  ASSERT_EQ(aug.code, 0) << aug.out;
  EXPECT_TRUE(contains(aug.out, "Input pipeline: image_dataset_from_directory: batches of 32, 3 steps and 2 "
                                "validation steps per epoch, bilinear resize")) << aug.out;
  EXPECT_TRUE(contains(aug.out, "3/3 [==============================]")) << aug.out;
  EXPECT_TRUE(contains(aug.out, "random_rotation (RandomRotat (None, 24, 24, 3)")) << aug.out;  // Keras 2.0.8 cuts the column
  const nlohmann::json settings = nlohmann::json::parse(read_file(dir + "/aug/run.json"));
  EXPECT_EQ(settings.at("batch_size"), 32);
  EXPECT_EQ(settings.at("steps_per_epoch"), 3);
  EXPECT_EQ(settings.at("interpolation"), "bilinear");
  const auto plain = run(kBin + flags + " --model " + dir + "/plain.json --epochs 2 --out " + dir + "/plain");
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_NE(final_params(dir + "/aug"), final_params(dir + "/plain")) << "the random layers warp in training";
  // One epoch, then resumed for the second: the same transforms, the same weights, bit for bit.
  const auto first = run(kBin + flags + " --model " + dir + "/aug.json --epochs 1 --out " + dir + "/halves");
  ASSERT_EQ(first.code, 0) << first.out;
  const auto second = run(kBin + " --resume " + dir + "/halves --epochs 2 --device cpu");
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_EQ(final_params(dir + "/halves"), final_params(dir + "/aug"));
  const auto again = run(kBin + " --resume " + dir + "/halves --epochs 3 --input-pipeline flow_from_directory");
  EXPECT_EQ(again.code, 2) << again.out;
  EXPECT_TRUE(contains(again.out, "--input-pipeline cannot change when resuming")) << again.out;
}

TEST(TrainGpu, BadFlagsAndMissingDataExitWithAClearMessage) {
  auto r = run(kBin + " --data " + kSample + " --bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.out, "bogus")) << r.out;
  r = run(kBin + " --data " + kSample + " --epochs 0");
  EXPECT_EQ(r.code, 2) << r.out;
  r = run(kBin + " --data " + kSample + " --device tpu");
  EXPECT_EQ(r.code, 2) << r.out;
  r = run(kBin + " --data /no/such/folder");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "/no/such/folder")) << r.out;
  r = run(kBin + " --epochs 3");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "--data")) << r.out;
  const std::string no_split = tmpdir("no_split");
  fs::create_directories(no_split + "/train/cats");
  r = run(kBin + " --data " + no_split + " --out " + tmpdir("out_no_split") + kQuick);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: ")) << r.out;
  r = run(kBin + " --version");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "train_gpu 0.1.0 (commit ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nGPU: ")) << r.out;  // the GPU, or "none (why)"
  EXPECT_TRUE(contains(r.out, "\nCPU: ")) << r.out;  // the CPU path's libraries, or why only the reference
  r = run(kBin + " --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(contains(r.out, "--steps-per-epoch")) << r.out;
}

TEST(TrainGpu, DamagedCheckpointIsRefusedOnResume) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("damaged");
  ASSERT_EQ(run(kBin + " --data " + kSample + " --epochs 1 --out " + out + kQuick).code, 0);
  {
    std::fstream f(out + "/last.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-100, std::ios::end);
    f.put('\x7f');
  }
  const auto r = run(kBin + " --resume " + out + " --epochs 2 --device cpu");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "damaged checkpoint")) << r.out;
  EXPECT_TRUE(contains(r.out, "last.safetensors")) << r.out;
}

TEST(TrainGpu, DivergingLearningRateStopsWithTheEpochAndStep) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("diverge");
  const auto r = run(kBin + " --data " + kSample + " --epochs 3 --lr 1e30 --out " + out + kQuick);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "diverged")) << r.out;
  EXPECT_TRUE(contains(r.out, "at epoch ")) << r.out;
  EXPECT_FALSE(fs::exists(out + "/final.safetensors"));
}
