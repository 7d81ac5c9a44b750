// train_gpu stopped by real, external signals inside the phase each test names (training steps,
// validation, the test evaluation, the photo decoding, a checkpoint's writing), then resumed:
// the run must end exactly where an uninterrupted one does. The signal lands where it should on
// any machine, fast and idle or with every core busy: ACTS_PAUSE_AT holds the program at the
// named point (runtime/core/stop_request.h) and the test sends the signal only once the program says
// it waits there. No test here waits for a time. ctest label: signals.
#include <signal.h>

#include <filesystem>
#include <map>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "app_files.h"
#include "run_process.h"
#include "runtime/core/checkpoint.h"

namespace fs = std::filesystem;
using acts::testing::contains;
using acts::testing::history_without_seconds;
using acts::testing::no_temporary_files;
using acts::testing::paused_at;
using acts::testing::read_file;
using acts::testing::run;
using acts::testing::Spawned;

namespace {

const std::string kBin = ACTS_TRAIN_GPU;
const std::string kSample = std::string(ACTS_TEST_DATA) + "/../../data/sample";
// Small and quick on 2 cores: 48x48 input, batches of 4.
const std::string kSmall = " --device cpu --image-size 48 --batch-size 4 --seed 5";

const acts::testing::ScratchDirs kScratch("acts_train_signals_");
std::string tmpdir(const std::string& name) { return kScratch.fresh(name); }

std::vector<float> final_params(const std::string& run_dir) {
  return acts::load_checkpoint(run_dir + "/final.safetensors").params;
}

// The channel statistics of a run (stats/*.npy, stats/index.json: issue 22), file by file.
std::map<std::string, std::string> stats_files(const std::string& run_dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(run_dir + "/stats"))
    files[e.path().filename().string()] = read_file(e.path().string());
  return files;
}

// Resumes the stopped run to its end: it must end exactly where the uninterrupted one did, its
// channel statistics included, with no temporary file left.
void expect_resume_matches(const std::string& stopped, const std::string& whole) {
  const auto resumed = run(kBin + " --resume " + stopped + " --device cpu");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(history_without_seconds(stopped), history_without_seconds(whole));
  EXPECT_EQ(final_params(stopped), final_params(whole));
  EXPECT_EQ(stats_files(stopped), stats_files(whole));
  EXPECT_TRUE(no_temporary_files(stopped));
}

}  // namespace

TEST(TrainGpuSignals, ResumeAfterKill9MatchesTheUninterruptedRun) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string args = " --data " + kSample + " --epochs 3 --steps-per-epoch 3 --validation-steps 2" + kSmall;
  const std::string whole = tmpdir("whole"), killed = tmpdir("killed");
  ASSERT_EQ(run(kBin + args + " --out " + whole).code, 0);
  // SIGKILL the same run in its second epoch (step 5 of 3 x 3: the pause waits until the first
  // epoch's checkpoint is on disk), then resume.
  Spawned p(kBin + args + " --out " + killed, "ACTS_PAUSE_AT=train-step:5");
  ASSERT_TRUE(p.wait_for(paused_at("train-step", 5))) << p.output();
  p.signal(SIGKILL);
  ASSERT_TRUE(p.killed_by_signal()) << p.output();
  EXPECT_EQ(acts::load_checkpoint(killed + "/last.safetensors").meta.at("epoch"), "1");
  const auto resumed = run(kBin + " --resume " + killed + " --device cpu");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_TRUE(contains(resumed.out, "Resuming " + fs::canonical(killed).string() + " at epoch 2, step 0"))
      << resumed.out;
  EXPECT_EQ(history_without_seconds(killed), history_without_seconds(whole));
  EXPECT_EQ(final_params(killed), final_params(whole));
  EXPECT_EQ(stats_files(killed), stats_files(whole));
}

TEST(TrainGpuSignals, CtrlCOrAHangupMidEpochWritesACheckpointAndResumesExactly) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // Channel statistics every 2 steps: records before the stop and after it.
  const std::string args =
      " --data " + kSample + " --epochs 1 --steps-per-epoch 12 --validation-steps 2 --stats-every 2" + kSmall;
  const std::string whole = tmpdir("whole_int");
  ASSERT_EQ(run(kBin + args + " --out " + whole).code, 0);
  // SIGHUP: the terminal was closed or the ssh session dropped.
  for (const int sig : {SIGINT, SIGHUP}) {
    const std::string stopped = tmpdir("stopped" + std::to_string(sig));
    Spawned p(kBin + args + " --out " + stopped, "ACTS_PAUSE_AT=train-step:8");  // before step 8 of 12
    ASSERT_TRUE(p.wait_for(paused_at("train-step", 8))) << p.output();
    p.signal(sig);
    ASSERT_EQ(p.finish(), 130) << sig << ": " << p.output();
    ASSERT_FALSE(p.killed_by_signal()) << p.output();
    EXPECT_TRUE(contains(p.output(), "Interrupted at epoch 1, step 7: checkpoint written; continue with: "
                                     "train_gpu --resume " + stopped))
        << p.output();
    const acts::Checkpoint mid = acts::load_checkpoint(stopped + "/last.safetensors");
    EXPECT_EQ(mid.meta.at("epoch"), "0");
    EXPECT_EQ(mid.meta.at("step"), "7");
    expect_resume_matches(stopped, whole);
  }
}

TEST(TrainGpuSignals, NohupOrAReaderOfItsOutputGoingAwayDoesNotStopTheRun) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string args = " --data " + kSample + " --epochs 1 --steps-per-epoch 6 --validation-steps 2" + kSmall;
  // nohup ignores SIGHUP on purpose: the run outlives the terminal. The hangup lands mid-epoch;
  // SIGUSR1 then lets the pause go on (the kernel discards an ignored signal when it is sent, so
  // a run that caught SIGHUP would have seen it first).
  const std::string out = tmpdir("nohup");
  Spawned p("nohup " + kBin + args + " --out " + out, "ACTS_PAUSE_AT=train-step:3");
  ASSERT_TRUE(p.wait_for(paused_at("train-step", 3))) << p.output();
  p.signal(SIGHUP);
  p.signal(SIGUSR1);
  EXPECT_EQ(p.finish(), 0) << p.output();
  EXPECT_FALSE(contains(p.output(), "Interrupted")) << p.output();
  EXPECT_TRUE(fs::exists(out + "/final.safetensors"));
  // train_gpu ... | tee log, and tee went with the terminal: writing the output fails (EPIPE)
  // instead of SIGPIPE killing the run, maybe half-way through a checkpoint.
  const std::string piped = tmpdir("piped"), code = piped + ".code";
  run("{ " + kBin + args + " --out " + piped + " 2>/dev/null; echo $? >" + code + "; } | true");
  EXPECT_EQ(read_file(code), "0\n");
  EXPECT_TRUE(fs::exists(piped + "/final.safetensors"));
}

TEST(TrainGpuSignals, CtrlCDuringValidationStopsThereAndResumesExactly) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string args = " --data " + kSample + " --epochs 1 --steps-per-epoch 2 --validation-steps 10" + kSmall;
  const std::string whole = tmpdir("val_whole"), stopped = tmpdir("val_stopped");
  ASSERT_EQ(run(kBin + args + " --out " + whole).code, 0);
  Spawned p(kBin + args + " --out " + stopped, "ACTS_PAUSE_AT=validation:4");
  ASSERT_TRUE(p.wait_for(paused_at("validation", 4))) << p.output();
  p.signal(SIGINT);
  ASSERT_EQ(p.finish(), 130) << p.output();
  // Stopped at the first batch after the signal, not after validating on.
  EXPECT_TRUE(contains(p.output(), "Interrupted at epoch 1, during validation (3 of 10 batches done): checkpoint "
                                   "written"))
      << p.output();
  EXPECT_FALSE(fs::exists(stopped + "/history.csv")) << "the epoch was not finished";
  const acts::Checkpoint mid = acts::load_checkpoint(stopped + "/last.safetensors");
  EXPECT_EQ(mid.meta.at("epoch"), "0");
  EXPECT_EQ(mid.meta.at("step"), "2");  // every training step of the epoch done
  expect_resume_matches(stopped, whole);
}

TEST(TrainGpuSignals, SigtermDuringTheTestEvaluationStopsThereAndResumeFinishesIt) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // The sample's test split: 20 photos, 5 batches of 4.
  const std::string args = " --data " + kSample + " --epochs 1 --steps-per-epoch 2 --validation-steps 1" + kSmall;
  const std::string whole = tmpdir("test_whole"), stopped = tmpdir("test_stopped");
  ASSERT_EQ(run(kBin + args + " --out " + whole).code, 0);
  Spawned p(kBin + args + " --out " + stopped, "ACTS_PAUSE_AT=test-evaluation:3");
  ASSERT_TRUE(p.wait_for(paused_at("test-evaluation", 3))) << p.output();
  p.signal(SIGTERM);
  ASSERT_EQ(p.finish(), 130) << p.output();
  EXPECT_TRUE(contains(p.output(), "Interrupted during the test evaluation (2 of 5 batches done)")) << p.output();
  EXPECT_FALSE(fs::exists(stopped + "/results.json"));
  EXPECT_NO_THROW(acts::load_checkpoint(stopped + "/final.safetensors"));
  const auto resumed = run(kBin + " --resume " + stopped + " --device cpu");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(read_file(stopped + "/results.json"), read_file(whole + "/results.json"));
  EXPECT_TRUE(no_temporary_files(stopped));
}

TEST(TrainGpuSignals, CtrlCWhileThePhotosDecodeStopsAtOnceAndLeavesNoHalfRun) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // Two decoding threads; the pause holds both (the one that reaches photo 5, and the other at
  // its next photo), so at most 6 of the 80 are decoded when the signal lands.
  const std::string root = tmpdir("stop_loading"), run_dir = root + "/runs/a";
  const std::string args =
      " --data " + kSample + " --epochs 1 --steps-per-epoch 2 --validation-steps 1 --threads 2" + kSmall;
  {
    Spawned p(kBin + args + " --out " + run_dir, "ACTS_PAUSE_AT=decode:5");
    ASSERT_TRUE(p.wait_for(paused_at("decode", 5))) << p.output();
    p.signal(SIGINT);
    EXPECT_EQ(p.finish(), 130) << p.output();
    EXPECT_FALSE(contains(p.output(), "Found 80 images")) << "the signal came after the loading";
    std::smatch m;
    const std::string said = p.output();
    ASSERT_TRUE(std::regex_search(said, m, std::regex("\nInterrupted before training, while decoding " +
                                                      fs::canonical(kSample).string() +
                                                      "/train \\(([0-9]+) of 80 photos decoded\\): nothing was "
                                                      "trained yet and (.*) was removed; start the run again")))
        << said;
    EXPECT_LE(std::stoi(m[1]), 6) << "the photos went on decoding after Ctrl-C";
    EXPECT_EQ(m[2], run_dir);
    EXPECT_FALSE(fs::exists(run_dir));
    EXPECT_FALSE(fs::exists(root + "/runs/latest"));
  }
  // The same command then starts it afresh ...
  auto r = run(kBin + args + " --out " + run_dir);
  ASSERT_EQ(r.code, 0) << r.out;
  // ... and a resumed run stopped while loading is left as it was, to be resumed later.
  const std::string last = read_file(run_dir + "/last.safetensors");
  const std::string resume = " --resume " + run_dir + " --epochs 2 --device cpu --threads 2";
  {
    Spawned p(kBin + resume, "ACTS_PAUSE_AT=decode:5");
    ASSERT_TRUE(p.wait_for(paused_at("decode", 5))) << p.output();
    p.signal(SIGINT);
    EXPECT_EQ(p.finish(), 130) << p.output();
    const std::string real = fs::canonical(run_dir).string();  // --resume names the real folder
    EXPECT_TRUE(contains(p.output(), "nothing was trained in this session and " + real +
                                         " is as it was; continue with: train_gpu --resume " + real))
        << p.output();
  }
  EXPECT_EQ(read_file(run_dir + "/last.safetensors"), last);
  EXPECT_TRUE(no_temporary_files(run_dir));
  r = run(kBin + resume);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(acts::load_checkpoint(run_dir + "/final.safetensors").meta.at("epoch"), "2");
}

TEST(TrainGpuSignals, AKillBetweenTheEpochsCheckpointsKeepsTheBestOneConsistent) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // At seed 5 val_acc improves at epochs 1 and 3 (0.40, 0.35, 0.50, 0.50): epoch 3 writes
  // best.safetensors a second time. Killed just before that write's rename, or between it and
  // last.safetensors, the resumed run must end with the uninterrupted run's best checkpoint and
  // results, never with a results.json that claims a best val_acc whose weights are gone. (The
  // writer may merge an epoch's last.safetensors into the next one's on a busy machine, but
  // every best epoch's checkpoint is written once: the two points come exactly once.)
  const std::string args = " --data " + kSample + " --epochs 4 --steps-per-epoch 3 --validation-steps 5" + kSmall;
  const std::string whole = tmpdir("best_whole");
  ASSERT_EQ(run(kBin + args + " --out " + whole).code, 0);
  ASSERT_EQ(acts::load_checkpoint(whole + "/best.safetensors").meta.at("epoch"), "3") << "the premise changed";
  for (const std::string at : {"rename best.safetensors:2", "best-written:2"}) {
    const std::string killed = tmpdir("best_killed" + std::to_string(at.size()));
    Spawned p(kBin + args + " --out " + killed, "ACTS_PAUSE_AT='" + at + "'");
    ASSERT_TRUE(p.wait_for(paused_at(at.substr(0, at.find(':')), std::stoi(at.substr(at.find(':') + 1)))))
        << p.output();
    p.signal(SIGKILL);
    ASSERT_TRUE(p.killed_by_signal()) << p.output();
    const auto resumed = run(kBin + " --resume " + killed + " --device cpu");
    ASSERT_EQ(resumed.code, 0) << at << ": " << resumed.out;
    EXPECT_EQ(read_file(killed + "/results.json"), read_file(whole + "/results.json")) << at;
    EXPECT_EQ(acts::load_checkpoint(killed + "/best.safetensors").params,
              acts::load_checkpoint(whole + "/best.safetensors").params)
        << at << ": best.safetensors is not the best epoch's model";
    EXPECT_EQ(final_params(killed), final_params(whole)) << at;
  }
}

TEST(TrainGpuSignals, AKillBeforeModelKerasIsInPlaceLeavesNoResultsAndResumeWritesIt) {
  SKIP_WITHOUT_PHOTO_DECODING();
  // final.safetensors and model.keras are one job of the checkpoint writer, and results.json comes
  // after both are on disk: killed just before model.keras' rename, the run is not finished, and
  // --resume writes model.keras and the same results as an uninterrupted run.
  const std::string args = " --data " + kSample + " --epochs 1 --steps-per-epoch 2 --validation-steps 2" + kSmall;
  const std::string whole = tmpdir("keras_whole"), killed = tmpdir("keras_killed");
  ASSERT_EQ(run(kBin + args + " --out " + whole).code, 0);
  if (!fs::exists(whole + "/model.keras")) GTEST_SKIP() << "this build writes no Keras files (no HDF5/libzip)";
  Spawned p(kBin + args + " --out " + killed, "ACTS_PAUSE_AT='rename model.keras:1'");
  ASSERT_TRUE(p.wait_for(paused_at("rename model.keras", 1))) << p.output();
  p.signal(SIGKILL);
  ASSERT_TRUE(p.killed_by_signal()) << p.output();
  EXPECT_TRUE(fs::exists(killed + "/final.safetensors"));
  EXPECT_FALSE(fs::exists(killed + "/model.keras"));
  EXPECT_FALSE(fs::exists(killed + "/results.json")) << "results.json says done before model.keras is there";
  const auto resumed = run(kBin + " --resume " + killed + " --device cpu");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_GT(fs::file_size(killed + "/model.keras"), 1000u);
  EXPECT_EQ(read_file(killed + "/results.json"), read_file(whole + "/results.json"));
  EXPECT_EQ(final_params(killed), final_params(whole));
  for (const auto& e : fs::directory_iterator(killed))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "left behind: " << e.path();
}
