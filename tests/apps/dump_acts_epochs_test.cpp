// dump_acts over a run's epochs and over a dataset, as a user runs them (the built binary, CPU):
// --animate's frames are the grids that a dump of each kept epoch alone draws, in epoch order;
// --top's numbers agree between its NPY and JSON and its pages link only what exists; misuse of
// either is one line, with nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#ifdef ACTS_WITH_WEBP_DEMUX
#include <webp/demux.h>
#endif

#include "run_process.h"
#include "runtime/core/checkpoint.h"
#include "runtime/core/npy.h"
#include "tests/dump/dump_acts_fixture.h"

using acts::testing::contains;
using acts::testing::run;
namespace fs = acts::test::fs;

namespace {

const std::string kBin = ACTS_DUMP_ACTS;
const std::string kSample = acts::test::sample_photos();

// A run folder as train_gpu --keep-every 1 leaves it: three kept epochs of different weights and
// the final checkpoint, data/sample as its data.
struct EpochRun : acts::test::DumpFixture {
  fs::path run_dir;
  explicit EpochRun(const std::string& name) : DumpFixture(name, 1) {
    run_dir = dir / "run";
    fs::create_directories(run_dir / "epochs");
    c.meta["data"] = kSample;
    const acts::Graph g(c.model);
    for (int e = 1; e <= 3; ++e) {
      acts::Checkpoint k = c;
      k.params = acts::init_params(g, uint64_t(100 + e));
      acts::save_checkpoint((run_dir / "epochs" / ("epoch_00" + std::to_string(e) + ".safetensors")).string(), k);
    }
    acts::save_checkpoint((run_dir / "final.safetensors").string(), c);
  }
  acts::testing::Ran dump(const std::string& args) const { return run("cd " + dir.string() + " && " + kBin + " " + args); }
};

#ifdef ACTS_WITH_WEBP_DEMUX
// Every frame of an animated WebP, as BGR.
std::vector<cv::Mat> webp_frames(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  WebPData data{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  WebPAnimDecoderOptions o;
  WebPAnimDecoderOptionsInit(&o);
  o.color_mode = MODE_BGRA;
  WebPAnimDecoder* dec = WebPAnimDecoderNew(&data, &o);
  std::vector<cv::Mat> frames;
  if (!dec) return frames;
  WebPAnimInfo info;
  WebPAnimDecoderGetInfo(dec, &info);
  while (WebPAnimDecoderHasMoreFrames(dec)) {
    uint8_t* buf = nullptr;
    int ts = 0;
    if (!WebPAnimDecoderGetNext(dec, &buf, &ts)) break;
    cv::Mat bgra(int(info.canvas_height), int(info.canvas_width), CV_8UC4, buf), bgr;
    cv::cvtColor(bgra, bgr, cv::COLOR_BGRA2BGR);
    frames.push_back(bgr);
  }
  WebPAnimDecoderDelete(dec);
  return frames;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_L1) / double(a.total() * 3); }
#endif

}  // namespace

TEST(DumpActsEpochs, AnimationFramesAreEachKeptEpochsGrid) {
#ifndef ACTS_WITH_WEBP_DEMUX
  GTEST_SKIP() << "built without libwebp (libwebp-dev): --animate is refused and its frames cannot be read";
#else
  EpochRun t("animate");
  const std::string image = kSample + "/test/cats/cat.1500.jpg";
  const auto r = t.dump("--model run --device cpu --animate --layer conv2d_1,dense_1 --image " + image + " --out anim");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Animating over 3 kept epochs (1 ... 3)")) << r.out;
  EXPECT_TRUE(contains(acts::test::slurp(t.dir / "anim/index.html"), "conv2d_1_epochs.webp"));
  for (const char* layer : {"conv2d_1", "dense_1"}) {
    std::vector<cv::Mat> alone;  // each epoch's grid from a dump of that checkpoint alone
    for (int e = 1; e <= 3; ++e) {
      const std::string out = "e" + std::to_string(e);
      const auto a = t.dump("--model run/epochs/epoch_00" + std::to_string(e) + ".safetensors --device cpu --layer " +
                            layer + " --image " + image + " --out " + out);
      ASSERT_EQ(a.code, 0) << a.out;
      alone.push_back(cv::imread((t.dir / out / (std::string(layer) + ".png")).string()));
    }
    const std::vector<cv::Mat> frames = webp_frames(t.dir / "anim" / (std::string(layer) + "_epochs.webp"));
    ASSERT_EQ(frames.size(), 3u) << layer;
    for (size_t k = 0; k < 3; ++k) {
      ASSERT_GE(frames[k].rows, alone[k].rows) << layer;  // the grid, then the caption strip
      const cv::Mat grid = frames[k](cv::Rect(0, 0, alone[k].cols, alone[k].rows));
      // Lossy WebP at quality 90: close to its own epoch's grid, and closer than to any other.
      const double own = mean_abs_diff(grid, alone[k]);
      EXPECT_LT(own, 6.0) << layer << " frame " << k;
      for (size_t j = 0; j < 3; ++j)
        if (j != k) EXPECT_LT(own, mean_abs_diff(grid, alone[j])) << layer << " frame " << k << " vs epoch " << j + 1;
    }
  }
#endif
}

TEST(DumpActsEpochs, AnimateWithoutKeptEpochsIsOneLine) {
  EpochRun t("animate-none");
  fs::remove_all(t.run_dir / "epochs");
  const auto r = t.dump("--model run --device cpu --animate --layer conv2d_1 --image " + kSample +
                        "/test/cats/cat.1500.jpg --out anim");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "--keep-every") || contains(r.out, "libwebp")) << r.out;
  EXPECT_FALSE(fs::exists(t.dir / "anim"));
}

TEST(DumpActsEpochs, TopImagesNumbersAndPages) {
  EpochRun t("top");
  const auto r = t.dump("--model run --device cpu --top 3 --data validation --layer conv2d_2,dense_1 --out top");
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path out = t.dir / "top";
  for (const char* layer : {"conv2d_2", "dense_1"}) {
    std::ifstream f(out / ("top_" + std::string(layer) + ".json"));
    const nlohmann::json j = nlohmann::json::parse(f);
    const acts::NpyArray a = acts::read_npy((out / ("top_" + std::string(layer) + ".npy")).string());
    const size_t channels = j["channels"].size();
    const std::vector<float> values = a.to_float();
    ASSERT_EQ(a.shape, (std::vector<size_t>{channels, 3})) << layer;
    for (size_t c = 0; c < channels; ++c)
      for (size_t k = 0; k < 3; ++k) {
        const nlohmann::json& h = j["channels"][c][k];
        EXPECT_EQ(h["value"].get<float>(), values[c * 3 + k]) << layer;
        if (k > 0) EXPECT_LE(h["value"].get<float>(), j["channels"][c][k - 1]["value"].get<float>()) << layer;
        const auto box = h["box"].get<std::vector<int>>();
        EXPECT_TRUE(box[0] >= 0 && box[1] >= 0 && box[0] < box[2] && box[1] < box[3] && box[2] <= 48 && box[3] <= 48);
        EXPECT_TRUE(fs::exists(out / ("top_" + std::string(layer)) / ("c" + std::to_string(c) + "_" +
                                                                       std::to_string(k + 1) + ".png")));
      }
  }
  for (const char* page : {"index.html", "top_conv2d_2.html"})
    for (const std::string& l : acts::test::page_links(out / page)) {
      const std::string file = l.substr(0, l.find('#'));
      EXPECT_TRUE(fs::exists(out / file)) << page << " links to missing " << l;
    }
}

TEST(DumpActsEpochs, TopMisuseIsOneLineAndWritesNothing) {
  EpochRun t("top-misuse");
  for (const std::string& args : {std::string("--top 3 --image ") + kSample + "/test/cats/cat.1500.jpg",
                                  std::string("--top 3 --data no-such-folder"),
                                  std::string("--top 3 --layer no_such_layer")}) {
    const auto r = t.dump("--model run --device cpu " + args + " --out top");
    EXPECT_NE(r.code, 0) << args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(t.dir / "top")) << args;
  }
}
