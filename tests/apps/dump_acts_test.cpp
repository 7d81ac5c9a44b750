// dump_acts as a user runs it (the built binary, CPU backend, the bundled photos of data/sample):
// the defaults right after train_gpu, the tutorial's shape lines, pictures and pages that
// exist, several images, and bad input answered with one line and nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "tests/dump/dump_acts_fixture.h"
#include "run_process.h"
#include "runtime/core/backend.h"
#include "runtime/data/dataset.h"
#include "runtime/images/feature_maps.h"

using acts::testing::contains;
using acts::testing::run;
namespace fs = acts::test::fs;

namespace {

const std::string kBin = ACTS_DUMP_ACTS;
const std::string kSample = acts::test::sample_photos();

// A folder laid out as train_gpu leaves it: runs/<stamp>/final.safetensors, runs/latest -> it,
// the checkpoint naming data/sample as its data folder.
struct TrainedFolder : acts::test::DumpFixture {
  explicit TrainedFolder(const std::string& name, int image_size = 48) : DumpFixture(name, 1) {
    c.model = acts::tutorial_model(image_size);
    c.params = acts::init_params(acts::Graph(c.model), 3);
    c.meta["data"] = kSample;
    c.meta["image_size"] = std::to_string(image_size);
    fs::create_directories(dir / "runs/20260101-120000");
    acts::save_checkpoint((dir / "runs/20260101-120000/final.safetensors").string(), c);
    fs::create_directory_symlink("20260101-120000", dir / "runs/latest");
  }
  acts::testing::Ran dump(const std::string& args) const {
    return run("cd " + dir.string() + " && " + kBin + " " + args);
  }
};

void expect_links_exist(const fs::path& html) {
  ASSERT_TRUE(fs::exists(html)) << html;
  for (const std::string& l : acts::test::page_links(html))
    EXPECT_TRUE(fs::exists(html.parent_path() / l)) << html << " links to missing " << l;
}

// A failed run: exit 1, exactly one line "error: ..." naming `says`, and no output folder.
void expect_one_line_error(const acts::testing::Ran& r, const std::string& says, const fs::path& out) {
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.out.rfind("error: ", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_TRUE(contains(r.out, says)) << r.out;
  EXPECT_TRUE(acts::test::files_under(out).empty()) << out;
}

}  // namespace

TEST(DumpActsApp, DefaultsRightAfterTrainGpu) {
  TrainedFolder t("defaults");
  const auto r = t.dump("--layer conv2d_3 --device cpu");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "input: (1, 48, 48, 3)\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "conv2d_3: (1, 8, 8, 128)\n")) << r.out;
  const fs::path dir_out = t.dir / "acts";
  const std::string first = kSample + "/test/cats/cat.1500.jpg";  // sorted classes, then files
  EXPECT_EQ(acts::test::slurp(dir_out / "images.txt"), first + "\n");

  // The NPY holds what the backend computes for that photo, preprocessed as in training.
  acts::LoadOptions lo;
  lo.height = lo.width = 48;
  const std::vector<uint8_t> px = acts::load_image(first, lo);
  const acts::Graph g(t.c.model);
  acts::BackendOptions o;
  o.max_batch = 1;
  auto be = acts::make_cpu_backend(g, o);
  be->set_params(t.c.params);
  acts::Batch b;
  b.n = 1;
  b.images = px.data();
  be->forward(b, false);
  const acts::NpyArray a = acts::read_npy((dir_out / "conv2d_3.npy").string());
  ASSERT_EQ(a.shape, (std::vector<size_t>{1, 8, 8, 128}));
  const std::vector<float> got = a.to_float(), ref = be->activation("conv2d_3");
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-5 + 1e-5 * std::abs(ref[i])) << i;

  const cv::Mat grid = cv::imread((dir_out / "conv2d_3.png").string());
  const acts::GridLayout l = acts::grid_layout(8, 8, 128);
  EXPECT_EQ(grid.cols, l.width);
  EXPECT_EQ(grid.rows, l.height);
  const cv::Mat input = cv::imread((dir_out / "input.png").string());
  EXPECT_EQ(input.cols, 48);
  EXPECT_EQ(input.at<cv::Vec3b>(10, 20)[2], px[(10 * 48 + 20) * 3]) << "input.png: red stays red";
  expect_links_exist(dir_out / "index.html");
}

TEST(DumpActsApp, TheTutorialsShapesAt150) {
  TrainedFolder t("tutorial", 150);
  const auto r = t.dump("--image " + kSample + "/test/dogs/dog.1500.jpg --channel 4 --device cpu --out seen");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(
      contains(r.out,
               "input: (1, 150, 150, 3)\nconv2d_1: (1, 148, 148, 32)\nmax_pooling2d_1: (1, 74, 74, 32)\n"
               "conv2d_2: (1, 72, 72, 64)\nmax_pooling2d_2: (1, 36, 36, 64)\nconv2d_3: (1, 34, 34, 128)\n"
               "max_pooling2d_3: (1, 17, 17, 128)\nconv2d_4: (1, 15, 15, 128)\nmax_pooling2d_4: (1, 7, 7, 128)\n"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "flatten_1:")) << "model.layers[:8] only";
  const fs::path out = t.dir / "seen";
  for (const char* n : {"conv2d_1", "max_pooling2d_4"}) {
    EXPECT_TRUE(fs::exists(out / (std::string(n) + ".png"))) << n;
    EXPECT_TRUE(fs::exists(out / (std::string(n) + "_ch4.png"))) << n;
  }
  EXPECT_EQ(acts::read_npy((out / "conv2d_1.npy").string()).shape, (std::vector<size_t>{1, 148, 148, 32}));
  expect_links_exist(out / "index.html");
}

TEST(DumpActsApp, AFolderOfImages) {
  TrainedFolder t("folder");
  const auto r = t.dump("--image " + kSample + "/test/cats --layer conv2d_1 max_pooling2d_1 --device cpu");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "conv2d_1: (10, 46, 46, 32)")) << r.out;
  const fs::path dir_out = t.dir / "acts";
  EXPECT_EQ(acts::read_npy((dir_out / "max_pooling2d_1.npy").string()).shape, (std::vector<size_t>{10, 23, 23, 32}));
  expect_links_exist(dir_out / "index.html");
  expect_links_exist(dir_out / "cat.1500" / "index.html");
  expect_links_exist(dir_out / "cat.1509" / "index.html");
  EXPECT_TRUE(fs::exists(dir_out / "cat.1509" / "conv2d_1.png"));
}

TEST(DumpActsApp, BadInputOneLineAndNothingWritten) {
  TrainedFolder t("bad");
  const fs::path out = t.dir / "out";
  const std::string o = " --device cpu --out " + out.string();
  // No runs/latest where it is started.
  expect_one_line_error(run("cd " + (t.dir / "runs").string() + " && " + kBin + o), "train_gpu --data", out);
  std::string bytes = acts::test::slurp(t.dir / "runs/latest/final.safetensors");
  std::ofstream(t.dir / "damaged.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  expect_one_line_error(t.dump("--model damaged.safetensors" + o), "damaged checkpoint", out);
  std::ofstream(t.dir / "garbage.jpg") << "this is not a JPEG";
  expect_one_line_error(t.dump("--image garbage.jpg" + o), "garbage.jpg", out);
  expect_one_line_error(t.dump("--layer conv2d_9" + o), "valid layers: conv2d_1, max_pooling2d_1", out);
  std::ofstream(t.dir / "file") << "x";
  expect_one_line_error(t.dump("--device cpu --out file/acts"), "cannot create the output folder", t.dir / "file/acts");
  const auto usage = t.dump("--device gpu");
  EXPECT_EQ(usage.code, 2) << usage.out;
}

TEST(DumpActsApp, VersionHelpAndListLayers) {
  TrainedFolder t("info");
  const auto v = t.dump("--version");
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_TRUE(contains(v.out, "dump_acts")) << v.out;
  const auto h = t.dump("--help");
  EXPECT_EQ(h.code, 0);
  EXPECT_TRUE(contains(h.out, "<image-stem>")) << h.out;
  const auto l = t.dump("--list-layers");
  EXPECT_EQ(l.code, 0) << l.out;
  EXPECT_TRUE(contains(l.out, "dense_2")) << l.out;
  EXPECT_FALSE(fs::exists(t.dir / "acts"));
}
