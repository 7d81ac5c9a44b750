// dump_acts' heatmaps, saliency, filter patterns and misclassified page (issue 20) as a user runs
// them (the built binary, CPU backend, data/sample's photos): the NPY files' shapes and values,
// the overlays' sizes and pixels (the book's formula), the pages' links, and every bad request
// answered with one exact line, exit 2 and nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "app_files.h"
#include "run_process.h"
#include "runtime/core/backend.h"
#include "runtime/data/dataset.h"
#include "runtime/explain/cam.h"
#include "tests/dump/dump_acts_fixture.h"

using acts::testing::contains;
using acts::testing::run;
namespace fs = acts::test::fs;

namespace {

const std::string kBin = ACTS_DUMP_ACTS;
const std::string kSample = acts::test::sample_photos();
const std::string kCat = kSample + "/test/cats/cat.1500.jpg", kDog = kSample + "/test/dogs/dog.1500.jpg";

// The fixture's 48x48 tutorial checkpoint, trained (so to say) on data/sample.
struct SampleRun : acts::test::DumpFixture {
  explicit SampleRun(const std::string& name) : DumpFixture(name, 2) {
    c.meta["data"] = kSample;
    acts::save_checkpoint(ckpt, c);
  }
  acts::testing::Ran dump(const std::string& args) const {
    return run(kBin + " --model " + ckpt + " --device cpu --out " + out() + " " + args);
  }
};

// A float32 NPY of `shape` whose values are finite and in [0, 1].
std::vector<float> read_unit_npy(const fs::path& p, const std::vector<size_t>& shape) {
  EXPECT_TRUE(fs::exists(p)) << p;
  if (!fs::exists(p)) return {};
  const acts::NpyArray a = acts::read_npy(p.string());
  EXPECT_EQ(a.dtype, "<f4") << p;
  EXPECT_EQ(a.shape, shape) << p;
  std::vector<float> v = a.to_float();
  for (float x : v) {
    EXPECT_TRUE(std::isfinite(x) && x >= 0.f && x <= 1.f) << p << ": " << x;
    if (!(std::isfinite(x) && x >= 0.f && x <= 1.f)) break;
  }
  return v;
}

void expect_links_exist(const fs::path& html) {
  ASSERT_TRUE(fs::exists(html)) << html;
  for (const std::string& l : acts::test::page_links(html)) {
    EXPECT_TRUE(fs::exists(html.parent_path() / l)) << html << " links to missing " << l;
    EXPECT_FALSE(contains(l, "http:") || contains(l, "https:") || l.rfind("//", 0) == 0) << html << ": " << l;
  }
}

std::vector<int> cam_shape(const acts::Graph& g) { return g.node(acts::default_cam_layer(g)).out_shape; }

}  // namespace

TEST(DumpActsHeatmaps, GradCamAndScoreCamOfTwoPhotos) {
  SampleRun t("cams");
  const auto r = t.dump("--image " + kCat + " " + kDog + " --cam gradcam,scorecam");
  ASSERT_EQ(r.code, 0) << r.out;
  const acts::Graph g(t.c.model);
  const std::vector<int> s = cam_shape(g);
  const fs::path out = t.out();
  EXPECT_FALSE(fs::exists(out / "conv2d_1.npy")) << "heatmaps alone: no activations without --layer";
  const std::vector<float> maps = read_unit_npy(out / "cam_gradcam.npy", {2, 2, size_t(s[0]), size_t(s[1])});
  read_unit_npy(out / "cam_scorecam.npy", {2, 2, size_t(s[0]), size_t(s[1])});

  // The batch file holds what the library computes for the photos, preprocessed as in training.
  acts::LoadOptions lo;
  lo.height = lo.width = 48;
  std::vector<uint8_t> px = acts::load_image(kCat, lo);
  const std::vector<uint8_t> dog = acts::load_image(kDog, lo);
  px.insert(px.end(), dog.begin(), dog.end());
  acts::BackendOptions o;
  o.max_batch = 2;
  auto be = acts::make_cpu_backend(g, o);
  be->set_params(t.c.params);
  acts::Batch b;
  b.n = 2;
  b.images = px.data();
  acts::CamRequest req;
  req.classes = {0, 1};
  const acts::CamMaps want = acts::compute_cam(*be, b, req);
  ASSERT_EQ(maps.size(), want.maps.size());
  for (size_t i = 0; i < maps.size(); ++i) ASSERT_NEAR(maps[i], want.maps[i], 1e-5) << i;

  // Per photo at its own size: the map resized (bilinear), and the book's overlay of it.
  const cv::Mat photo = cv::imread(kCat, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);  // BGR
  const std::vector<float> big =
      read_unit_npy(out / "cat.1500/cam_gradcam_dogs.npy", {size_t(photo.rows), size_t(photo.cols)});
  cv::Mat small(s[0], s[1], CV_32F, const_cast<float*>(maps.data() + size_t(s[0]) * s[1])), resized;  // cat, dogs
  cv::resize(small, resized, photo.size(), 0, 0, cv::INTER_LINEAR);
  const cv::Mat png = cv::imread((out / "cat.1500/cam_gradcam_dogs.png").string());
  ASSERT_EQ(png.size(), photo.size());
  cv::Mat ramp(1, 256, CV_8UC1), jet;
  for (int i = 0; i < 256; ++i) ramp.at<uint8_t>(i) = uint8_t(i);
  cv::applyColorMap(ramp, jet, cv::COLORMAP_JET);
  for (int y = 0; y < photo.rows; y += 37)
    for (int x = 0; x < photo.cols; x += 41) {
      const float v = big[size_t(y) * photo.cols + x];
      ASSERT_NEAR(v, resized.at<float>(y, x), 1e-5) << y << "," << x;
      const cv::Vec3b h = jet.at<cv::Vec3b>(0, int(255.f * v)), p = photo.at<cv::Vec3b>(y, x);
      for (int ch = 0; ch < 3; ++ch)
        ASSERT_EQ(png.at<cv::Vec3b>(y, x)[ch], cv::saturate_cast<uint8_t>(0.4f * h[ch] + p[ch])) << y << "," << x;
    }
  for (const char* f : {"cam_gradcam_cats", "cam_scorecam_cats", "cam_scorecam_dogs"}) {
    EXPECT_TRUE(fs::exists(out / "dog.1500" / (std::string(f) + ".png"))) << f;
    read_unit_npy(out / "dog.1500" / (std::string(f) + ".npy"),
                  {size_t(cv::imread(kDog).rows), size_t(cv::imread(kDog).cols)});
  }
  expect_links_exist(out / "index.html");
  expect_links_exist(out / "cat.1500/index.html");
  const std::string page = acts::test::slurp(out / "cat.1500/index.html");
  EXPECT_TRUE(contains(page, "Where the model looks")) << page;
  EXPECT_TRUE(contains(page, "cam_scorecam_dogs.png")) << page;
  EXPECT_TRUE(contains(page, "score ")) << page;
}

TEST(DumpActsHeatmaps, SaliencyAndSmoothGradOfOneClassBesideActivations) {
  SampleRun t("saliency");
  const auto r = t.dump("--image " + t.images + " --saliency --smoothgrad 3 --class dogs --layer conv2d_1");
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path out = t.out();
  EXPECT_EQ(acts::read_npy((out / "conv2d_1.npy").string()).shape, (std::vector<size_t>{2, 46, 46, 32}));
  read_unit_npy(out / "saliency.npy", {2, 1, 48, 48});
  read_unit_npy(out / "smoothgrad.npy", {2, 1, 48, 48});
  for (const char* stem : {"x_0", "x_1"}) {  // rows of an .npy: drawn at the model's size
    read_unit_npy(out / stem / "saliency_dogs.npy", {48, 48});
    EXPECT_EQ(cv::imread((out / stem / "smoothgrad_dogs.png").string()).size(), cv::Size(48, 48)) << stem;
    EXPECT_FALSE(fs::exists(out / stem / "saliency_cats.npy")) << "--class dogs only";
    expect_links_exist(out / stem / "index.html");
  }
}

TEST(DumpActsHeatmaps, FilterPatternsAloneNeedNoImage) {
  SampleRun t("filters");
  const auto r = t.dump("--filters conv2d_1 --filter-steps 2");
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path out = t.out();
  const std::vector<float> a = read_unit_npy(out / "filters_conv2d_1.npy", {32, 48, 48, 3});
  const cv::Mat grid = cv::imread((out / "filters_conv2d_1.png").string());
  EXPECT_EQ(grid.size(), cv::Size(8 * 48 + 7 * 5, 4 * 48 + 3 * 5)) << "the book's grid: 8 per row, 5-pixel margins";
  EXPECT_FALSE(fs::exists(out / "images.txt"));
  expect_links_exist(out / "index.html");
  EXPECT_TRUE(contains(acts::test::slurp(out / "index.html"), "filters_conv2d_1.png"));
  // --seed makes them reproducible; another seed starts elsewhere.
  const std::string first = acts::test::slurp(out / "filters_conv2d_1.npy");
  ASSERT_EQ(t.dump("--filters conv2d_1 --filter-steps 2").code, 0);
  EXPECT_EQ(acts::test::slurp(out / "filters_conv2d_1.npy"), first);
  ASSERT_EQ(t.dump("--filters conv2d_1 --filter-steps 2 --seed 9").code, 0);
  EXPECT_NE(acts::test::slurp(out / "filters_conv2d_1.npy"), first);
}

TEST(DumpActsHeatmaps, MisclassifiedPhotosOfTheTestSplit) {
  SampleRun t("misclassified");
  const auto r = t.dump("--misclassified test --cam gradcam");
  ASSERT_EQ(r.code, 0) << r.out;
  const size_t at = r.out.find("Misclassified: ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const int wrong = std::stoi(r.out.substr(at + 15));
  EXPECT_TRUE(contains(r.out, "Misclassified: " + std::to_string(wrong) + " of the 20 photos of ")) << r.out;
  const fs::path out = t.out();
  const std::string page = acts::test::slurp(out / "misclassified.html");
  expect_links_exist(out / "misclassified.html");
  size_t listed = 0;
  for (size_t p = page.find("True class: "); p != std::string::npos; p = page.find("True class: ", p + 1)) ++listed;
  EXPECT_EQ(listed, size_t(wrong)) << page;
  // Every one listed is wrong: a cat predicted as dogs or a dog predicted as cats.
  for (size_t p = page.find("True class: "); p != std::string::npos; p = page.find("True class: ", p + 1)) {
    const std::string truth = page.substr(p + 12, 4),
                      said = page.substr(page.find(": ", page.find("P(dogs)", p)) + 2, 4);
    EXPECT_NE(truth, said) << page.substr(p, 200);
  }
  if (wrong > 1) {
    expect_links_exist(out / "index.html");
    EXPECT_TRUE(contains(acts::test::slurp(out / "index.html"), "misclassified.html"));
    const std::vector<int> s = cam_shape(acts::Graph(t.c.model));
    read_unit_npy(out / "cam_gradcam.npy", {size_t(wrong), 2, size_t(s[0]), size_t(s[1])});
  }
}

// Bad requests: one exact line, exit 2, no output folder.
TEST(DumpActsHeatmaps, BadRequestsAreOneLineAndExit2) {
  SampleRun t("misuse");
  const std::string conv =
      "conv2d_1, max_pooling2d_1, conv2d_2, max_pooling2d_2, conv2d_3, max_pooling2d_3, conv2d_4, max_pooling2d_4";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--cam gradcam --cam-layer dense_1",
       "error: --cam-layer dense_1: Dense output (1, 512) has no (H, W, C) maps for a heatmap; choose one of " + conv},
      {"--cam gradcam --cam-layer conv9", "error: --cam-layer conv9: no such layer; choose one of " + conv},
      {"--cam gradcam --class horses",
       "error: --class horses: not a class of this model; give a name or an index: 0 (cats), 1 (dogs)"},
      {"--cam gradcam --class 2", "error: --class 2: out of range; the model has 2 classes: 0 (cats), 1 (dogs)"},
      {"--cam gradcamm",
       "error: --cam gradcamm: not a heatmap method; use gradcam, gradcam++, layercam, scorecam, gradcam-sum or all"},
      {"--filters flatten_1",
       "error: --filters flatten_1: Flatten output (1, 128) has no (H, W, C) maps to draw filter patterns of; "
       "choose one of " +
           conv},
      {"--cam-layer conv2d_3", "error: --cam-layer conv2d_3: only heatmaps use a layer; add --cam METHOD"},
      {"--class dogs", "error: --class: only heatmaps and saliency are per class; add --cam METHOD or --saliency"},
      {"--misclassified test --image " + kCat,
       "error: --misclassified and --image exclude each other: the photos are those of the split; drop one"},
  };
  for (const auto& [args, line] : cases) {
    const auto r = t.dump(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_EQ(r.out, line + "\n") << args;
    EXPECT_FALSE(fs::exists(t.out())) << args;
  }
  // A checkpoint that does not say which data it was trained on has no "test" split.
  acts::test::DumpFixture bare("misuse_bare", 1);
  const auto no_data = run(kBin + " --model " + bare.ckpt + " --device cpu --misclassified test --out " + bare.out());
  EXPECT_EQ(no_data.code, 2) << no_data.out;
  EXPECT_EQ(no_data.out, "error: --misclassified test: " + bare.ckpt +
                             " does not say which data it was trained on; pass a folder with one sub-folder per "
                             "class\n");
  EXPECT_FALSE(fs::exists(bare.out()));
  // Numbers CLI11 checks: exit 2 too, one line.
  for (const char* args : {"--smoothgrad 0", "--filter-steps -1", "--smoothgrad-noise nan", "--seed -1"}) {
    const auto r = t.dump(std::string("--saliency ") + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_EQ(acts::testing::error_lines(r.out), 1) << r.out;
  }
}

// A photo larger than 4096 pixels on a side is drawn shrunk to 4096 (aspect kept): at its own
// size a 20000 x 20000 scan would need 1.6 GB per float map.
TEST(DumpActsHeatmaps, AHugePhotoIsDrawnAt4096PixelsOnItsLongSide) {
  SampleRun t("huge");
  const std::string photo = (t.dir / "wide.png").string();
  cv::Mat wide(60, 5000, CV_8UC3);
  cv::randu(wide, 0, 255);
  ASSERT_TRUE(cv::imwrite(photo, wide));
  const auto r = t.dump("--image " + photo + " --cam gradcam --class dogs");
  ASSERT_EQ(r.code, 0) << r.out;
  read_unit_npy(fs::path(t.out()) / "cam_gradcam_dogs.npy", {49, 4096});  // 60 x 4096 / 5000 = 49.2
  EXPECT_EQ(cv::imread(t.out() + "/cam_gradcam_dogs.png").size(), cv::Size(4096, 49));
}

// Class names that make one file name ("a b" and "a_b") must not overwrite each other's maps.
TEST(DumpActsHeatmaps, ClassNamesThatMakeOneFileNameKeepTheirOwnFiles) {
  SampleRun t("tags");
  const auto r = t.dump("--image " + kCat + " --cam gradcam --classes 'a b,a_b'");
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path out = t.out();
  for (const char* f : {"cam_gradcam_a_b-0.png", "cam_gradcam_a_b-1.png", "cam_gradcam_a_b-0.npy"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  expect_links_exist(out / "index.html");
}

// Saliency differentiates the input only: a model without any (H, W, C) layer still has it; only
// heatmaps need a conv layer, and say so.
TEST(DumpActsHeatmaps, SaliencyNeedsNoConvLayer) {
  SampleRun t("flat");
  acts::ModelSpec m;
  m.height = m.width = 48;
  acts::LayerSpec flatten, hidden, head;
  flatten.type = acts::LayerType::Flatten;
  hidden.type = head.type = acts::LayerType::Dense;
  hidden.units = 4;
  hidden.activation = acts::Act::Relu;
  head.units = 1;
  head.activation = acts::Act::Sigmoid;
  m.layers = {flatten, hidden, head};
  acts::Checkpoint flat = t.c;
  flat.model = m;
  flat.params = acts::init_params(acts::Graph(m), 5);
  const std::string ckpt = (t.dir / "flat.safetensors").string();
  acts::save_checkpoint(ckpt, flat);
  const std::string base = kBin + " --model " + ckpt + " --device cpu --image " + t.images + " --out " + t.out();
  const auto r = run(base + " --saliency");
  ASSERT_EQ(r.code, 0) << r.out;
  read_unit_npy(fs::path(t.out()) / "saliency.npy", {2, 2, 48, 48});
  expect_links_exist(fs::path(t.out()) / "index.html");
  fs::remove_all(t.out());
  const auto cam = run(base + " --cam gradcam");
  EXPECT_EQ(cam.code, 2) << cam.out;
  EXPECT_EQ(cam.out,
            "error: --cam gradcam: the model has no layer with (H, W, C) maps to draw heatmaps of (its "
            "layers: flatten_1, dense_1, dense_2); use --saliency\n");
  EXPECT_FALSE(fs::exists(t.out()));
}

// Class names are text on the pages and part of file names: markup is escaped, path characters
// never leave the folder.
TEST(DumpActsHeatmaps, HostileClassNamesAreEscapedAndStayInTheFolder) {
  SampleRun t("hostile");
  const auto r = t.dump("--image " + kCat + " --cam gradcam --classes '<i>x,../y&z'");
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path out = t.out();
  EXPECT_TRUE(fs::exists(out / "cam_gradcam__i_x.png"));
  EXPECT_TRUE(fs::exists(out / "cam_gradcam_.._y_z.png"));
  EXPECT_FALSE(fs::exists(t.dir / "y&z.png"));
  const std::string page = acts::test::slurp(out / "index.html");
  EXPECT_TRUE(contains(page, "&lt;i&gt;x")) << page;
  EXPECT_FALSE(contains(page, "<i>x")) << page;
  expect_links_exist(out / "index.html");
}
