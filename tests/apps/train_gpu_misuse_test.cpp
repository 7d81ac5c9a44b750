// train_gpu misused the way a demanding user would (CPU backend, the bundled sample): out of
// memory, interrupts outside the training steps, failed starts, flags that --resume cannot honour
// and odd numbers. Each must end with one "error: ..." line naming the file and the fix, a
// non-zero exit and nothing half-written; never an abort or a run that ignores the user.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app_files.h"
#include "run_process.h"
#include "runtime/core/checkpoint.h"

namespace fs = std::filesystem;
using acts::testing::contains;
using acts::testing::error_lines;
using acts::testing::history_without_seconds;
using acts::testing::no_temporary_files;
using acts::testing::read_file;
using acts::testing::run;
using acts::testing::paused_at;
using acts::testing::spawn;
using acts::testing::Spawned;

namespace {

const std::string kBin = ACTS_TRAIN_GPU;
const std::string kSample = std::string(ACTS_TEST_DATA) + "/../../data/sample";
const std::string kQuick = " --device cpu --image-size 48 --batch-size 4 --steps-per-epoch 2 --seed 5";

const acts::testing::ScratchDirs kScratch("acts_train_misuse_");
std::string tmpdir(const std::string& name) { return kScratch.fresh(name); }

}  // namespace

TEST(TrainGpuMisuse, OutOfMemoryIsOneLineNamingTheSizes) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // 80 images of 600x600 need ~4 GB for conv2d_1's output alone; the address space gets 3 GB.
  const std::string out = tmpdir("oom");
  const auto r = run("ulimit -v 3000000; exec " + kBin + " --data " + kSample + " --out " + out +
                     " --device cpu --image-size 600 --batch-size 80 --epochs 1 --steps-per-epoch 1"
                     " --validation-steps 1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: out of memory training on batches of 80 images of 600x600")) << r.out;
  EXPECT_TRUE(contains(r.out, "smaller --batch-size")) << r.out;
  EXPECT_FALSE(contains(r.out, "terminate")) << r.out;
  EXPECT_TRUE(no_temporary_files(out));
}

TEST(TrainGpuMisuse, AStartThatFailedBeforeItsFirstCheckpointCanBeRunAgainInPlace) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string root = tmpdir("failed_start"), one_class = root + "/one_class";
  fs::create_directories(one_class + "/train/cats");
  fs::create_directories(one_class + "/validation/cats");
  fs::copy(kSample + "/train/cats", one_class + "/train/cats");
  fs::copy(kSample + "/validation/cats", one_class + "/validation/cats");
  const std::string in_root = "cd " + root + " && " + kBin, quick = " --epochs 1 --validation-steps 1" + kQuick;
  ASSERT_EQ(run(in_root + " --data " + kSample + " --out runs/good" + quick).code, 0);

  // A model that does not fit the image size fails before any folder is made.
  auto r = run(in_root + " --data " + kSample + " --out runs/tiny --device cpu --image-size 20");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "use a larger --image-size")) << r.out;
  EXPECT_FALSE(fs::exists(root + "/runs/tiny"));

  // Bad data: one line, and runs/latest still names the last run that started training.
  r = run(in_root + " --data " + one_class + " --out runs/again" + quick);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_EQ(fs::read_symlink(root + "/runs/latest"), "good");
  // --resume cannot continue it and says how to start it again ...
  r = run(in_root + " --resume runs/again --device cpu");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "start the run again with --out ")) << r.out;
  // ... which works without --force: the folder held nothing but run.json.
  r = run(in_root + " --data " + kSample + " --out runs/again --epochs 1 --steps-per-epoch 12 --device cpu "
                    "--image-size 48 --batch-size 4 --lr 1e30");
  EXPECT_EQ(r.code, 3) << r.out;  // diverged in its first epoch: again nothing but run.json
  r = run(in_root + " --data " + kSample + " --out runs/again" + quick);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(root + "/runs/again/final.safetensors"));
  EXPECT_EQ(fs::read_symlink(root + "/runs/latest"), "again");
  // A folder with a checkpoint is still never overwritten without --force.
  r = run(in_root + " --data " + kSample + " --out runs/again" + quick);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "holds an earlier run")) << r.out;
}

TEST(TrainGpuMisuse, ResumeRefusesSettingsItWouldIgnoreAndFollowsMovedData) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string root = tmpdir("resume_flags"), data = root + "/data", run_dir = root + "/run";
  fs::create_directories(root);
  fs::copy(kSample, data, fs::copy_options::recursive);
  const std::string quick = " --validation-steps 1" + kQuick;
  ASSERT_EQ(run(kBin + " --data " + data + " --out " + run_dir + " --epochs 1" + quick).code, 0);
  // What defines the run cannot change on resume: say so instead of silently training without it.
  for (const std::string flag : {"--lr 0.5", "--batch-size 8", "--seed 2", "--augment", "--image-size 64",
                                "--rmsprop keras3", "--optimizer adam"}) {
    const auto r = run(kBin + " --resume " + run_dir + " --epochs 2 --device cpu " + flag);
    EXPECT_EQ(r.code, 2) << flag << ": " << r.out;
    EXPECT_TRUE(contains(r.out, flag.substr(0, flag.find(' ')) + " cannot change when resuming")) << r.out;
  }
  auto r = run(kBin + " --resume " + run_dir + " --out " + root + "/elsewhere --device cpu");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "--resume takes the run folder itself")) << r.out;
  EXPECT_FALSE(fs::exists(root + "/elsewhere"));

  // The data moved: --resume says what to do, and --data gives its new place.
  fs::rename(data, root + "/moved");
  r = run(kBin + " --resume " + run_dir + " --epochs 2 --device cpu");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "resume with --data")) << r.out;
  r = run(kBin + " --resume " + run_dir + " --epochs 2 --device cpu --data " + root + "/moved");
  ASSERT_EQ(r.code, 0) << r.out;
  // The same photos: the same run as one that was never moved.
  const std::string whole = root + "/whole";
  ASSERT_EQ(run(kBin + " --data " + kSample + " --out " + whole + " --epochs 2" + quick).code, 0);
  EXPECT_EQ(history_without_seconds(run_dir), history_without_seconds(whole));
  // Photos of other classes are not the run's data.
  fs::rename(root + "/moved/train/cats", root + "/moved/train/kittens");
  fs::rename(root + "/moved/validation/cats", root + "/moved/validation/kittens");
  fs::rename(root + "/moved/test/cats", root + "/moved/test/kittens");
  r = run(kBin + " --resume " + run_dir + " --epochs 3 --device cpu --data " + root + "/moved");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "are not the run's [\"cats\",\"dogs\"]")) << r.out;
}

TEST(TrainGpuMisuse, NumbersThatMakeNoSenseAreRefusedInAFewWords) {
  const std::string out = tmpdir("numbers");
  // flag value -> what the message must say
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--lr nan", "--lr: 'nan' is not a positive number"},  // trained, then "diverged (lr nan)"
      {"--lr 1e-50", "--lr: '1e-50' is not a positive number"},  // 0 as a float: trained nothing
      {"--lr 0", "--lr: '0' is not"},
      {"--lr inf", "--lr: 'inf' is not"},
      {"--epochs -1", "--epochs: '-1' is not a whole number from 1 to 2147483647"},
      {"--epochs 99999999999", "--epochs: '99999999999' is not a whole number"},  // "Could not convert"
      {"--batch-size 0", "--batch-size: '0' is not a whole number from 1"},
      {"--steps-per-epoch 2.5", "--steps-per-epoch: '2.5' is not a whole number"},
      {"--validation-steps -1", "--validation-steps: '-1' is not a whole number from 0"},
      {"--seed -1", "--seed: '-1' is not a whole number from 0 to 4294967295"},  // became 2^64-1
      {"--threads -2", "--threads: '-2' is not a whole number from 0"},
      {"--image-size 7", "--image-size: '7' is not a whole number from 8 to 4096"},
      {"--optimizer sgd", "--optimizer: sgd not in {rmsprop,adam}"},
  };
  for (const auto& [flag, says] : cases) {
    // A one-step run but for the flag under test (which, accepted, would start it).
    std::string args = " --data " + kSample + " --out " + out + " --device cpu " + flag;
    for (const std::string quick : {"--epochs 1", "--steps-per-epoch 1", "--validation-steps 0", "--image-size 48"})
      if (flag.rfind(quick.substr(0, quick.find(' ')) + " ", 0) != 0) args += " " + quick;
    const auto r = run(kBin + args);
    EXPECT_EQ(r.code, 2) << flag << ": " << r.out;
    EXPECT_TRUE(contains(r.out, says)) << flag << ": " << r.out;
    EXPECT_FALSE(contains(r.out, "1797693134862315")) << flag << ": " << r.out;  // DBL_MAX in full
    EXPECT_FALSE(fs::exists(out)) << flag;
    fs::remove_all(out);
  }
}

TEST(TrainGpuMisuse, ModelJsonErrorsNameTheFileAndAFixThatApplies) {
  const std::string root = tmpdir("model_json"), out = root + "/out";
  const std::string one_step = " --device cpu --epochs 1 --steps-per-epoch 1 --validation-steps 0";
  fs::create_directories(root);
  const nlohmann::json tutorial =
      nlohmann::json::parse(read_file(std::string(ACTS_TEST_DATA) + "/../../models/tutorial.json"));
  auto variant = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json m = tutorial;
    edit(m);
    const std::string path = root + "/" + name + ".json";
    std::ofstream(path) << m.dump();
    return path;
  };
  auto input = [](int h, int w) {
    return [h, w](nlohmann::json& m) { m["config"][0]["config"]["batch_input_shape"] = {nullptr, h, w, 3}; };
  };
  // model -> what the message must say after "error: <file>: "
  const std::vector<std::pair<std::string, std::string>> cases = {
      {variant("small", input(20, 20)),
       "input smaller than the pool; give the model a larger input (batch_input_shape)"},
      {variant("oblong", input(60, 80)), "model input must be square (60x80)"},
      {variant("huge", input(100000, 100000)), "is larger than --image-size allows (4096)"},
      {variant("twins", [](nlohmann::json& m) { m["config"][2]["config"]["name"] = "conv2d_1"; }),
       "two layers are named 'conv2d_1'"},
  };
  for (const auto& [model, says] : cases) {
    const auto r = run(kBin + " --data " + kSample + " --out " + out + one_step + " --model " + model);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + model + ": ")) << r.out;
    EXPECT_TRUE(contains(r.out, says)) << r.out;
    EXPECT_FALSE(contains(r.out, "--image-size;")) << r.out;  // no flag to fix a JSON model with
    EXPECT_FALSE(fs::exists(out)) << model;
    EXPECT_EQ(run(kBin + " --summary --model " + model).code, 1) << model;
  }
  // --image-size would be ignored with a model JSON: refused instead.
  const auto r = run(kBin + " --data " + kSample + " --out " + out + one_step + " --image-size 64 --model " +
                     variant("fine", input(48, 48)));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "--image-size and --model exclude each other")) << r.out;
  EXPECT_FALSE(fs::exists(out));
}

TEST(TrainGpuMisuse, SplitsWithOtherClassNamesAreRefused) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // Labels are indices of the sorted class names: test/birds + test/dogs would be scored as if
  // birds were cats.
  const std::string data = tmpdir("other_classes"), sample = fs::canonical(kSample).string();
  for (const char* split : {"train", "validation"}) {
    fs::create_directories(data);
    fs::create_directory_symlink(sample + "/" + split, data + "/" + split);
  }
  fs::create_directories(data + "/test");
  fs::create_directory_symlink(sample + "/test/cats", data + "/test/birds");
  fs::create_directory_symlink(sample + "/test/dogs", data + "/test/dogs");
  const auto r = run(kBin + " --data " + data + " --out " + data + "/run --epochs 1 --validation-steps 1" + kQuick);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: " + data + "/test: its classes ([\"birds\",\"dogs\"]) are not train/'s "
                                                 "([\"cats\",\"dogs\"])"))
      << r.out;
  EXPECT_FALSE(fs::exists(data + "/run/last.safetensors"));
}

TEST(TrainGpuMisuse, ResumeRemovesWhatAKilledRunLeftHalfWritten) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = tmpdir("stale");
  ASSERT_EQ(run(kBin + " --data " + kSample + " --out " + out + " --epochs 1 --validation-steps 1" + kQuick).code, 0);
  // kill -9 during a checkpoint write leaves "<file>.tmp.<pid>" (27 MB for the tutorial's model).
  const pid_t dead = spawn("true");
  waitpid(dead, nullptr, 0);
  const std::string stale = out + "/last.safetensors.tmp." + std::to_string(dead);
  const std::string live = out + "/history.csv.tmp." + std::to_string(getpid());  // a writer still at work
  std::ofstream(stale) << "half a checkpoint";
  std::ofstream(live) << "epoch,";
  const auto r = run(kBin + " --resume " + out + " --epochs 2 --device cpu");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Removed 1 unfinished file of a process that was killed")) << r.out;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
}

namespace {

// A folder's files (its sub-folders' too) by path, with their sizes and times of last change: what
// a refused run must not change.
std::string snapshot(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      lines.push_back(fs::relative(e.path(), dir).string() + " " + std::to_string(e.file_size()) +
                      " bytes, changed " + std::to_string(e.last_write_time().time_since_epoch().count()));
  std::sort(lines.begin(), lines.end());
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

}  // namespace

TEST(TrainGpuMisuse, ASecondRunOnAFolderBeingTrainedIsRefused) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // Both would write last.safetensors and history.csv: the second is refused, by any path.
  const std::string root = tmpdir("locked"), a = root + "/runs/a";
  const std::string small = " --device cpu --image-size 48 --batch-size 4 --seed 5 --validation-steps 0";
  fs::create_directories(root);
  // Held at its first step until the test kills it: it trains for as long as the test needs.
  Spawned first(kBin + " --data " + kSample + " --out " + a + small + " --epochs 1 --steps-per-epoch 2",
                "ACTS_PAUSE_AT=train-step:1");
  ASSERT_TRUE(first.wait_for(paused_at("train-step", 1))) << first.output();
  const std::string before = snapshot(a), real = fs::canonical(a).string();
  const std::string one_step = " --data " + kSample + small + " --epochs 1 --steps-per-epoch 1";
  // command -> the folder its refusal names
  const std::vector<std::pair<std::string, std::string>> seconds = {
      {kBin + one_step + " --out " + a, a},
      {kBin + one_step + " --out " + a + " --force", a},
      {kBin + one_step + " --out " + root + "/runs/latest", root + "/runs/latest"},
      {"cd " + root + " && " + kBin + " --resume --device cpu", real},  // runs/latest
      {kBin + " --resume " + a + " --epochs 2 --device cpu", real},
  };
  for (const auto& [cmd, folder] : seconds) {
    const auto r = run(cmd);
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + folder + ": another train_gpu (pid " + std::to_string(first.pid()) +
                                    ") is training in this run folder; wait for it to end, or "))
        << cmd << ": " << r.out;
    EXPECT_EQ(snapshot(a), before) << cmd;
  }
  // The kernel drops the lock of a killed run: nothing stale blocks the folder.
  first.signal(SIGKILL);
  ASSERT_TRUE(first.killed_by_signal()) << first.output();
  const auto r = run(kBin + one_step + " --out " + a);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(fs::exists(a + "/.train_gpu.lock")) << "left behind by a run that ended";
}

// Files in a class folder that are no photos to read: a FIFO named x.jpg (opening it blocked a
// decoding thread for ever) and a PNG whose header claims 30000x30000 pixels (aborted the whole
// run). Each is skipped with a warning naming it, as a broken photo is. `timeout` only guards
// the test against the hang (with SIGKILL: train_gpu catches SIGTERM, and a thread blocked in
// open() outlived it); the run must end by itself.
TEST(TrainGpuMisuse, AFifoOrAGiganticPhotoInAClassFolderIsSkippedNamed) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string root = tmpdir("fifo_photo"), data = root + "/data";
  fs::create_directories(root);
  fs::copy(kSample, data, fs::copy_options::recursive);
  const std::string fifo = data + "/train/cats/x.jpg", huge = data + "/train/dogs/huge.png";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0,    0, 13, 'I', 'H', 'D',
                               'R',  0,   0,   0x75, 0x30, 0,    0,    0x75, 0x30, 8, 2, 0,  0,   0};  // 30000 x 30000
  std::ofstream(huge, std::ios::binary).write(reinterpret_cast<const char*>(png), sizeof png);
  const auto r = run("timeout -s KILL 300 " + kBin + " --data " + data + " --out " + root + "/run --epochs 1 "
                     "--validation-steps 1" + kQuick);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "warning: " + fifo + ": skipped: is a FIFO, not a regular file")) << r.out;
  EXPECT_TRUE(contains(r.out, "warning: " + huge + ": skipped: 30000x30000 pixels is larger than the 20000-pixel "
                              "limit per side"))
      << r.out;
}

// A FIFO as the run's last.safetensors (--resume) or as --model (a JSON), and /dev/zero as
// --model, are not regular files: said in one line, never a hang or "no such file".
TEST(TrainGpuMisuse, AFifoOrADeviceWhereAFileBelongsIsNotARegularFile) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string root = tmpdir("fifo_files"), run_dir = root + "/run", fifo = root + "/model.json";
  ASSERT_EQ(run(kBin + " --data " + kSample + " --out " + run_dir + " --epochs 1 --validation-steps 0" + kQuick).code,
            0);
  fs::remove(run_dir + "/last.safetensors");
  ASSERT_EQ(mkfifo((run_dir + "/last.safetensors").c_str(), 0600), 0);
  auto r = run("timeout -s KILL 300 " + kBin + " --resume " + run_dir + " --epochs 2 --device cpu");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: " + fs::canonical(run_dir).string() +
                                  "/last.safetensors: is a FIFO, not a regular file;"))
      << r.out;
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& [path, kind] : std::vector<std::pair<std::string, std::string>>{
           {fifo, "a FIFO"}, {"/dev/zero", "a character device"}}) {
    const std::string new_run = " --data " + kSample + " --out " + root + "/new --device cpu";
    for (const std::string how : {std::string(" --summary"), new_run}) {
      r = run("timeout -s KILL 300 " + kBin + " --model " + path + how);
      EXPECT_EQ(r.code, 1) << path << how << ": " << r.out;
      EXPECT_EQ(error_lines(r.out), 1) << r.out;
      EXPECT_TRUE(contains(r.out, "error: " + path + ": is " + kind + ", not a regular file; pass --model a Keras "
                                  "model JSON file"))
          << r.out;
      EXPECT_FALSE(fs::exists(root + "/new"));
    }
  }
  // A checkpoint whose training state has a field missing or unreadable (written by a script:
  // its checksum is right) names the field, not "stoi".
  fs::remove(run_dir + "/last.safetensors");
  acts::Checkpoint c = acts::load_checkpoint(run_dir + "/final.safetensors");
  for (const auto& [key, value, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"epoch", "abc", "'epoch' is 'abc', not a number"},
           {"epoch", "99999999999", "'epoch' is 99999999999, not from 0 to "},
           {"loss_sum", "", "'loss_sum' is '', not a number"},
           {"step", "-", "'step' is missing"},
           {"backend_step", "x", "'backend_step' is 'x', not a number"}}) {
    acts::Checkpoint edited = c;
    if (value == "-")
      edited.meta.erase(key);
    else
      edited.meta[key] = value;
    acts::save_checkpoint(run_dir + "/last.safetensors", edited);
    r = run("timeout -s KILL 300 " + kBin + " --resume " + run_dir + " --epochs 2 --device cpu");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + fs::canonical(run_dir).string() + "/last.safetensors: training state " +
                                    says))
        << r.out;
    EXPECT_TRUE(contains(r.out, "cannot be resumed")) << r.out;
    EXPECT_FALSE(contains(r.out, "sto")) << r.out;
  }
}

// Command-line mistakes: one line naming the flag and what to do, exit 2.
TEST(TrainGpuMisuse, FlagMistakesSayWhatToDo) {
  const std::string out = tmpdir("flags");
  auto r = run(kBin + " --data " + kSample + " --out " + out + " --epochs 2 --epochs 3" + kQuick);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(error_lines(r.out), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: --epochs was given 2 times; give it once")) << r.out;
  EXPECT_FALSE(contains(r.out, "At Most")) << r.out;
  EXPECT_FALSE(fs::exists(out));
  // --help shows each number's real range.
  r = run(kBin + " --help");
  EXPECT_EQ(r.code, 0) << r.out;
  std::string line;
  for (std::istringstream in(r.out); std::getline(in, line);)
    if (contains(line, "--image-size")) break;
  EXPECT_TRUE(contains(line, "8..4096")) << line;
  EXPECT_FALSE(contains(line, "POSITIVE")) << line;
}
