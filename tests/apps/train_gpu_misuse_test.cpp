// train_gpu misused the way a demanding user would (CPU backend, the bundled sample): out of
// memory, interrupts outside the training steps, failed starts, flags that --resume cannot honour
// and odd numbers. Each must end with one "error: ..." line naming the file and the fix, a
// non-zero exit and nothing half-written; never an abort or a run that ignores the user.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "run_process.h"
#include "runtime/checkpoint.h"

namespace fs = std::filesystem;
using acts::testing::contains;
using acts::testing::run;
using acts::testing::spawn;

namespace {

const std::string kBin = ACTS_TRAIN_GPU;
const std::string kSample = std::string(ACTS_TEST_DATA) + "/../../data/sample";
const std::string kQuick =
    " --device cpu --image-size 48 --batch-size 4 --validation-steps 1 --steps-per-epoch 2 --seed 5";

const fs::path kTmp = fs::temp_directory_path() / ("acts_train_misuse_" + std::to_string(getpid()));
struct RemoveTmp {
  ~RemoveTmp() { fs::remove_all(kTmp); }
} remove_tmp_at_exit;

std::string tmpdir(const std::string& name) {
  const fs::path d = kTmp / name;
  fs::remove_all(d);
  fs::create_directories(d.parent_path());
  return d.string();
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The lines of `out` that start with "error: " (there must be exactly one).
int error_lines(const std::string& out) {
  int n = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) n += line.rfind("error: ", 0) == 0;
  return n;
}

bool no_temporary_files(const std::string& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (contains(e.path().filename().string(), ".tmp")) return false;
  return true;
}

}  // namespace

TEST(TrainGpuMisuse, OutOfMemoryIsOneLineNamingTheSizes) {
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
