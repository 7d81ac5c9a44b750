// dump_acts stopped by Ctrl-C, SIGTERM or a hangup in the middle of a dump: it stops at the next
// batch, removes its unfinished NPY files, and leaves no temporary file nor a folder it made
// empty. ACTS_PAUSE_AT holds it before its third batch until the signal is sent, so the signal
// lands mid-dump on any machine (runtime/core/stop_request.h). ctest label: signals.
#include <gtest/gtest.h>
#include <signal.h>

#include "run_process.h"
#include "tests/dump/dump_acts_fixture.h"

using acts::testing::contains;
using acts::testing::paused_at;
using acts::testing::Spawned;
namespace fs = acts::test::fs;

namespace {

const std::string kBin = ACTS_DUMP_ACTS;

std::vector<std::string> leftovers(const fs::path& dir) {  // temporaries and empty folders
  std::vector<std::string> found;
  if (!fs::exists(dir)) return found;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (contains(e.path().filename().string(), ".tmp") || (e.is_directory() && fs::is_empty(e.path())))
      found.push_back(e.path().string());
  return found;
}

}  // namespace

TEST(DumpActsSignals, CtrlCSigtermOrAHangupMidDumpLeavesNoTemporaryFiles) {
  acts::test::DumpFixture t("stop", 6);              // 6 images, one per batch
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {  // SIGHUP: the terminal was closed
    const fs::path out = t.dir / ("out" + std::to_string(sig));
    Spawned p(kBin + " --model " + t.ckpt + " --image " + t.images +
                  " --layer conv2d_1 dense_2 --batch-size 1 --device cpu --out " + out.string(),
              "ACTS_PAUSE_AT=dump-batch:3");
    ASSERT_TRUE(p.wait_for(paused_at("dump-batch", 3))) << p.output();
    EXPECT_TRUE(fs::exists(out / ("conv2d_1.npy.tmp." + std::to_string(p.pid())))) << "not mid-dump";
    p.signal(sig);
    EXPECT_EQ(p.finish(), 130) << p.output();
    EXPECT_FALSE(p.killed_by_signal()) << p.output();
    EXPECT_TRUE(contains(p.output(), "\nInterrupted: the dump into " + out.string() +
                                         "/ was stopped after 2 of 6 "
                                         "images"))
        << p.output();
    EXPECT_EQ(leftovers(out), std::vector<std::string>{}) << sig;
    EXPECT_FALSE(fs::exists(out / "conv2d_1.npy"));
    EXPECT_FALSE(fs::exists(out / "index.html"));
  }
}

// Heatmaps stream into their NPY files as the activations do: stopped mid-dump, none is left
// half-written. Filter patterns take a while per layer (24 s for conv2d_1 at 150 px on a CPU): a
// Ctrl-C between layers stops the dump too, instead of being ignored until it completes.
TEST(DumpActsSignals, HeatmapsAndFilterPatternsStopMidDump) {
  acts::test::DumpFixture t("stop_heat", 4);
  const fs::path out = t.dir / "heat";
  Spawned p(kBin + " --model " + t.ckpt + " --image " + t.images +
                " --cam gradcam --saliency --batch-size 1 --device cpu --out " + out.string(),
            "ACTS_PAUSE_AT=dump-batch:3");
  ASSERT_TRUE(p.wait_for(paused_at("dump-batch", 3))) << p.output();
  EXPECT_TRUE(fs::exists(out / ("cam_gradcam.npy.tmp." + std::to_string(p.pid())))) << "not mid-dump";
  p.signal(SIGINT);
  EXPECT_EQ(p.finish(), 130) << p.output();
  EXPECT_EQ(leftovers(out), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(out / "cam_gradcam.npy"));
  EXPECT_FALSE(fs::exists(out / "saliency.npy"));

  const fs::path filters = t.dir / "filters";
  Spawned f(kBin + " --model " + t.ckpt + " --filters conv2d_1,conv2d_2 --filter-steps 2 --device cpu --out " +
                filters.string(),
            "ACTS_PAUSE_AT=dump-filters:2");
  ASSERT_TRUE(f.wait_for(paused_at("dump-filters", 2))) << f.output();
  f.signal(SIGINT);
  EXPECT_EQ(f.finish(), 130) << f.output();
  EXPECT_TRUE(contains(f.output(), "\nInterrupted: the dump into " + filters.string() +
                                       "/ was stopped before the filter patterns of conv2d_2"))
      << f.output();
  EXPECT_EQ(leftovers(filters), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(filters / "filters_conv2d_2.npy"));
  EXPECT_FALSE(fs::exists(filters / "index.html"));
}
