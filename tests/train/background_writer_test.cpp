// BackgroundWriter: the trainer's background writes of checkpoints and per-epoch files. What
// reaches the disk is the newest job submitted per file, complete (a checkpoint loads, CRC
// checked), nothing half-written is left, and a failed write is reported once, naming the file,
// without stopping the writer.
#include "runtime/train/background_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/core/atomic_file.h"
#include "runtime/core/errors.h"
#include "runtime/core/graph.h"

namespace fs = std::filesystem;
using namespace acts;

namespace {

struct TmpDir {
  fs::path path = fs::temp_directory_path() / ("acts_ckpt_writer_" + std::to_string(::getpid()));
  TmpDir() { fs::create_directories(path); }
  ~TmpDir() { fs::remove_all(path); }
};

Checkpoint numbered(const Graph& g, int n) {
  Checkpoint c;
  c.model = g.spec();
  c.params = init_params(g, uint64_t(n) + 1);  // different weights for every n
  c.opt_state.assign(g.param_count(), float(n));
  c.meta = {{"n", std::to_string(n)}};
  return c;
}

TEST(BackgroundWriter, TheNewestCheckpointPerFileReachesTheDiskWhole) {
  TmpDir tmp;
  const Graph g(tutorial_model(47));
  const std::string last = (tmp.path / "last.safetensors").string(), best = (tmp.path / "best.safetensors").string();
  {
    BackgroundWriter w;
    for (int n = 0; n < 6; ++n) w.submit(last, numbered(g, n));
    w.submit(best, numbered(g, 2));
    w.flush();
    const Checkpoint got = load_checkpoint(last);
    EXPECT_EQ(got.meta.at("n"), "5");
    EXPECT_EQ(got.params, init_params(g, 6));
    EXPECT_EQ(got.opt_state, std::vector<float>(g.param_count(), 5.f));
    EXPECT_EQ(load_checkpoint(best).meta.at("n"), "2");
    w.submit(last, numbered(g, 9));  // written by the destructor's flush
  }
  EXPECT_EQ(load_checkpoint(last).meta.at("n"), "9");
  for (const auto& e : fs::directory_iterator(tmp.path))
    EXPECT_EQ(e.path().extension(), ".safetensors") << "left behind: " << e.path();
}

TEST(BackgroundWriter, AFailedWriteIsReportedOnceNamingTheFile) {
  TmpDir tmp;
  const Graph g(tutorial_model(47));
  const std::string bad = (tmp.path / "missing" / "last.safetensors").string();
  const std::string good = (tmp.path / "last.safetensors").string();
  BackgroundWriter w;
  w.submit(bad, numbered(g, 1));
  try {
    w.flush();
    FAIL() << "a write into a missing folder succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/last.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(w.flush()) << "the same failure reported twice";
  w.submit(good, numbered(g, 3));  // the writer goes on after a failure
  w.flush();
  EXPECT_EQ(load_checkpoint(good).meta.at("n"), "3");
}

TEST(BackgroundWriter, FileJobsRunInTheBackgroundNewestPerPathWins) {
  TmpDir tmp;
  const std::string csv = (tmp.path / "history.csv").string();
  BackgroundWriter w;
  for (int n = 0; n < 20; ++n) {
    const std::string text = "epoch " + std::to_string(n) + "\n";
    w.submit(csv, [csv, text] { write_file_atomic(csv, text); });
  }
  w.submit((tmp.path / "bad.png").string(), [] { fail("curves.png: could not draw"); });
  EXPECT_THROW(w.flush(), Error);
  EXPECT_EQ(read_file(csv), "epoch 19\n");
}

}  // namespace
