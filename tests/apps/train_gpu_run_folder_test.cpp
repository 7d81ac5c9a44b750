// train_gpu's run folders against what a user already has on disk and what a run left there:
// runs/latest that the user made, --out spelled with a trailing slash or as ".", --force over an
// earlier run, --resume of a finished run or with fewer epochs, a run without validation, a
// failure at the first checkpoint (the disk full), and checkpoint metadata that makes no sense.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app_files.h"
#include "run_process.h"
#include "runtime/core/checkpoint.h"

namespace fs = std::filesystem;
using acts::testing::contains;
using acts::testing::error_lines;
using acts::testing::paused_at;
using acts::testing::read_file;
using acts::testing::run;
using acts::testing::Spawned;

namespace {

const std::string kBin = ACTS_TRAIN_GPU;
const std::string kSample = std::string(ACTS_TEST_DATA) + "/../../data/sample";
const std::string kQuick =
    " --device cpu --image-size 48 --batch-size 4 --steps-per-epoch 2 --validation-steps 1 --seed 5";

const acts::testing::ScratchDirs kScratch("acts_train_folder_");
std::string tmpdir(const std::string& name) { return kScratch.fresh(name); }

std::string link_target(const std::string& p) {
  std::error_code ec;
  const fs::path t = fs::read_symlink(p, ec);
  return ec ? "(not a link)" : t.string();
}

}  // namespace

TEST(TrainGpuRunFolder, LatestIsReplacedOnlyWhenTrainGpuMadeIt) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string root = tmpdir("latest"), runs = root + "/runs";
  fs::create_directories(runs);
  const std::string train = "cd " + root + " && " + kBin + " --data " + kSample + " --epochs 1" + kQuick;
  // No latest yet: made. A later run moves the link it made.
  ASSERT_EQ(run(train + " --out runs/a").code, 0);
  EXPECT_EQ(link_target(runs + "/latest"), "a");
  ASSERT_EQ(run(train + " --out runs/b").code, 0);
  EXPECT_EQ(link_target(runs + "/latest"), "b");
  // --out with a trailing slash, and --out . from inside the folder, name the run too.
  ASSERT_EQ(run(train + " --out runs/c/").code, 0);
  EXPECT_EQ(link_target(runs + "/latest"), "c");
  fs::create_directories(runs + "/d");
  ASSERT_EQ(run("cd " + runs + "/d && " + kBin + " --data " + kSample + " --epochs 1" + kQuick + " --out .").code, 0);
  EXPECT_EQ(link_target(runs + "/latest"), "d");

  // The user's own file, link or folder named latest is theirs: left as it was, with a warning.
  fs::remove(runs + "/latest");
  std::ofstream(runs + "/latest") << "notes\n";
  auto r = run(train + " --out runs/e");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_file(runs + "/latest"), "notes\n");
  EXPECT_TRUE(contains(r.out, "warning: " + runs + "/latest is not a link train_gpu made")) << r.out;
  fs::remove(runs + "/latest");
  fs::create_symlink("/tmp", runs + "/latest");
  ASSERT_EQ(run(train + " --out runs/f").code, 0);
  EXPECT_EQ(link_target(runs + "/latest"), "/tmp");
  fs::remove(runs + "/latest");
  fs::create_directories(runs + "/latest/mine");
  r = run(train + " --out runs/g");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::is_directory(runs + "/latest/mine"));
  for (const auto& e : fs::directory_iterator(runs))
    EXPECT_FALSE(contains(e.path().filename().string(), ".latest")) << "left behind: " << e.path();
  EXPECT_FALSE(fs::exists(runs + "/latest/g"));
}

TEST(TrainGpuRunFolder, LatestIsPutBackWhenARunFailsAtItsFirstCheckpoint) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string root = tmpdir("disk_full"), train = "cd " + root + " && ";
  fs::create_directories(root);
  const std::string args = " --data " + kSample + " --epochs 1" + kQuick;
  ASSERT_EQ(run(train + kBin + args + " --out runs/good").code, 0);
  // A file size limit stands for a full disk: run.json fits, the first checkpoint (~2.5 MB) does
  // not. (SIGXFSZ ignored, as a full disk sends no signal: the write fails instead.)
  const auto r = run(train + "ulimit -f 1000 && trap '' XFSZ && exec " + kBin + args + " --out runs/full");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, ".safetensors: write failed")) << r.out;
  EXPECT_FALSE(fs::exists(root + "/runs/full/last.safetensors"));
  EXPECT_EQ(link_target(root + "/runs/latest"), "good") << "latest names a run without a checkpoint";
}

TEST(TrainGpuRunFolder, ForceOverAnEarlierRunLeavesNoneOfItsFiles) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("force"), args = " --data " + kSample + " --epochs 1" + kQuick;
  ASSERT_EQ(run(kBin + args + " --out " + out).code, 0);
  std::ofstream(out + "/notes.txt") << "mine\n";  // not a run's file: kept
  // --force, then Ctrl-C while the photos decode: the folder holds no checkpoint, as it says.
  Spawned p(kBin + args + " --out " + out + " --force --threads 1", "ACTS_PAUSE_AT=decode:2");
  ASSERT_TRUE(p.wait_for(paused_at("decode", 2))) << p.output();
  p.signal(SIGINT);
  EXPECT_EQ(p.finish(), 130) << p.output();
  EXPECT_TRUE(contains(p.output(), out + " holds no checkpoint")) << p.output();
  for (const char* f : {"last.safetensors", "best.safetensors", "final.safetensors", "history.csv", "curves.png",
                        "results.json"})
    EXPECT_FALSE(fs::exists(out + "/" + f)) << f << " of the earlier run is still there";
  EXPECT_EQ(read_file(out + "/notes.txt"), "mine\n");
}

TEST(TrainGpuRunFolder, ResumeNeverShortensARunAndSaysWhenItIsFinished) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("finished");
  ASSERT_EQ(run(kBin + " --data " + kSample + " --epochs 2 --out " + out + kQuick).code, 0);
  const std::string real = fs::canonical(out).string();
  const std::string final_before = read_file(out + "/final.safetensors"), results = read_file(out + "/results.json");
  auto r = run(kBin + " --resume " + out + " --epochs 1 --device cpu");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: --epochs 1: " + real + " has trained 2 epochs already")) << r.out;
  for (const std::string again : {"", " --epochs 2"}) {
    r = run(kBin + " --resume " + out + again + " --device cpu");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, real + " finished its 2 epochs (results.json): nothing to resume; to train it "
                                "longer: train_gpu --resume " + real + " --epochs 3"))
        << r.out;
    EXPECT_FALSE(contains(r.out, "test_acc")) << "the test evaluation ran again";
  }
  EXPECT_EQ(read_file(out + "/final.safetensors"), final_before);
  EXPECT_EQ(read_file(out + "/results.json"), results);
}

// --precision is how a run computes, not what it is: recorded in run.json and the checkpoints, a
// resume goes on in it unless told otherwise, and a change is said and recorded for the next.
TEST(TrainGpuRunFolder, ResumeGoesOnInTheRunsPrecisionUnlessToldOtherwise) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("precision");
  auto r = run(kBin + " --data " + kSample + " --epochs 1 --precision bf16 --out " + out + kQuick);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "mixed bf16")) << r.out;
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/run.json")).at("precision"), "bf16");
  auto recorded = [&] {
    const acts::Checkpoint c = acts::load_checkpoint(out + "/last.safetensors");
    return nlohmann::json::parse(c.meta.at("train_config")).at("precision").get<std::string>();
  };
  EXPECT_EQ(recorded(), "bf16");

  r = run(kBin + " --resume " + out + " --epochs 2 --device cpu");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "mixed bf16")) << "the resume left bf16 unasked:\n" << r.out;
  EXPECT_FALSE(contains(r.out, "Precision:")) << r.out;

  r = run(kBin + " --resume " + out + " --epochs 3 --device cpu --precision fp32");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Precision: fp32 from here on (the run computed in bf16 until now)")) << r.out;
  EXPECT_FALSE(contains(r.out, "mixed bf16")) << r.out;
  EXPECT_EQ(recorded(), "fp32");
}

TEST(TrainGpuRunFolder, NoValidationStepsTrainsWithoutValidationAndSaysSo) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("no_val");
  const auto r = run(kBin + " --data " + kSample + " --epochs 2 --out " + out +
                     " --device cpu --image-size 48 --batch-size 4 --steps-per-epoch 2 --seed 5 --validation-steps 0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "No validation (--validation-steps 0)")) << r.out;
  EXPECT_FALSE(contains(r.out, " - val_acc: ")) << r.out;
  const std::string hist = read_file(out + "/history.csv");
  EXPECT_TRUE(contains(hist, "\n1,")) << hist;
  EXPECT_FALSE(contains(hist, "0.000000,0.000000")) << "validation metrics of nothing: " << hist;
  EXPECT_FALSE(fs::exists(out + "/best.safetensors")) << "best by val_acc, without validation";
  const auto results = nlohmann::json::parse(read_file(out + "/results.json"));
  EXPECT_TRUE(results.at("best_val_acc").is_null()) << results.dump();
  EXPECT_FALSE(results.at("final").contains("val_acc")) << results.dump();
  EXPECT_TRUE(results.at("final").contains("acc")) << results.dump();
  // Resumed for a third epoch, it goes on without validation.
  const auto resumed = run(kBin + " --resume " + out + " --epochs 3 --device cpu");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_FALSE(contains(read_file(out + "/history.csv"), "0.000000,0.000000")) << read_file(out + "/history.csv");
}

TEST(TrainGpuRunFolder, CheckpointStateOutOfRangeIsRefusedOnResume) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("edited");
  ASSERT_EQ(run(kBin + " --data " + kSample + " --epochs 2 --out " + out + kQuick).code, 0);
  const std::string last = out + "/last.safetensors", real = fs::canonical(out).string() + "/last.safetensors";
  const acts::Checkpoint good = acts::load_checkpoint(last);
  // field -> edited value -> what the refusal must say. (save_checkpoint writes a valid file:
  // these are well-formed checkpoints whose training state makes no sense.)
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"epoch", "-5", "'epoch' is -5, not from 0 to 2"},
      {"epoch", "7", "'epoch' is 7, not from 0 to 2"},
      {"step", "99", "'step' is 99, not from 0 to 2"},
      {"count", "-1", "'count' is -1"},
      {"epoch", "abc", "'epoch' is 'abc', not a number"},
      {"epoch", "", "'epoch' is '', not a number"},
      {"best_val_acc", "7", "'best_val_acc' is 7"},
      {"backend_step", "1e99", "'backend_step' is '1e99', not a number"},
  };
  for (const auto& [field, value, said] : cases) {
    acts::Checkpoint c = good;
    c.meta[field] = value;
    acts::save_checkpoint(last, c);
    const auto r = run(kBin + " --resume " + out + " --epochs 3 --device cpu");
    EXPECT_EQ(r.code, 1) << field << "=" << value << ": " << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + real + ": training state " + said)) << r.out;
    EXPECT_FALSE(contains(r.out, "Epoch ")) << r.out;
    EXPECT_FALSE(contains(r.out, "stoi")) << r.out;
  }
  acts::Checkpoint c = good;
  c.meta.erase("epoch");
  acts::save_checkpoint(last, c);
  const auto r = run(kBin + " --resume " + out + " --epochs 3 --device cpu");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: " + real + ": training state 'epoch' is missing")) << r.out;
}
