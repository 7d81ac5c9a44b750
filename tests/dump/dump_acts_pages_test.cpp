// dump_acts' layout of pictures and pages (through a recording Painter, so no OpenCV is needed)
// and its handling of bad input: every failure is an acts::Error raised before the first file
// is written, so the output folder is left as it was.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <set>

#include "tests/dump/dump_acts_fixture.h"
#include "runtime/dump/dump.h"
#include "runtime/core/errors.h"

using acts::test::DumpFixture;
namespace fs = acts::test::fs;

namespace {

// Writes a placeholder at every path it is asked to draw, and remembers the calls. Thread-safe,
// as the Painter contract requires: dump_acts draws a batch's images in parallel (without the
// lock, two images' push_back raced and corrupted the heap in 13 runs of 50).
struct RecordingPainter : acts::Painter {
  std::mutex m;
  std::vector<std::string> calls;  // in call order; several images' calls interleave
  void touch(const std::string& path, const std::string& what) {
    ASSERT_TRUE(fs::is_directory(fs::path(path).parent_path())) << path;
    std::ofstream(path) << "png";
    std::lock_guard<std::mutex> lock(m);
    calls.push_back(what + " " + path);
  }
  void input(const std::string& path, const uint8_t*, int h, int w) override {
    touch(path, "input " + std::to_string(h) + "x" + std::to_string(w));
  }
  void layer(const std::string& path, const acts::LayerPicture& p) override { touch(path, "layer " + p.name); }
  void channel(const std::string& path, const acts::LayerPicture& p, int k) override {
    touch(path, "channel " + p.name + " " + std::to_string(k));
  }
  void crop(const std::string& path, const uint8_t*, int, int, const acts::PixelBox& b) override {
    touch(path, "crop " + std::to_string(b.top) + "," + std::to_string(b.left) + "," + std::to_string(b.bottom) + "," +
                    std::to_string(b.right));
  }
};

void expect_links_exist(const fs::path& html) {
  ASSERT_TRUE(fs::exists(html)) << html;
  const std::vector<std::string> links = acts::test::page_links(html);
  EXPECT_GT(links.size(), 2u);
  for (const std::string& l : links) {
    EXPECT_EQ(l.find("://"), std::string::npos) << "external link " << l;
    EXPECT_NE(l.front(), '/') << "absolute link " << l;
    EXPECT_TRUE(fs::exists(html.parent_path() / l)) << html << " links to missing " << l;
  }
}

}  // namespace

TEST(DumpActsPages, OneImageWritesEverythingNextToTheNpyFiles) {
  DumpFixture f("one", 1);
  RecordingPainter painter;
  acts::DumpConfig c;
  c.model = f.ckpt;
  c.images = {f.images};
  c.layers = {"conv2d_3", "conv2d_1", "dense_2"};
  c.channels = {4, 40};  // 40: only conv2d_3 (128 channels) has it
  c.out = f.out();
  c.device = "cpu";
  c.painter = &painter;
  acts::dump_activations(c);
  const std::string o = f.out();
  const std::vector<std::string> want = {"layer conv2d_1 " + o + "/conv2d_1.png",
                                         "channel conv2d_1 4 " + o + "/conv2d_1_ch4.png",
                                         "layer conv2d_3 " + o + "/conv2d_3.png",
                                         "channel conv2d_3 4 " + o + "/conv2d_3_ch4.png",
                                         "channel conv2d_3 40 " + o + "/conv2d_3_ch40.png",
                                         "layer dense_2 " + o + "/dense_2.png",
                                         "input 48x48 " + o + "/input.png"};
  EXPECT_EQ(painter.calls, want);
  expect_links_exist(o + "/index.html");
  const std::string page = acts::test::slurp(o + "/index.html");
  // In model order, with the shapes numpy reports for one image.
  const size_t a = page.find("conv2d_1"), b = page.find("conv2d_3"), d = page.find("dense_2");
  EXPECT_LT(a, b);
  EXPECT_LT(b, d);
  EXPECT_NE(page.find("(1, 46, 46, 32)"), std::string::npos);
  EXPECT_NE(page.find("(1, 8, 8, 128)"), std::string::npos);
  EXPECT_NE(page.find("P(dogs) = "), std::string::npos);
}

TEST(DumpActsPages, SeveralImagesGetAFolderEachAndAnOverview) {
  DumpFixture f("several", 3);
  RecordingPainter painter;
  acts::DumpConfig c;
  c.model = f.ckpt;
  c.images = {f.images, f.images};  // the same array twice: six images, stems made unique
  c.layers = {"max_pooling2d_1"};
  c.out = f.out();
  c.device = "cpu";
  c.batch_size = 4;
  c.painter = &painter;
  acts::dump_activations(c);
  EXPECT_EQ(acts::read_npy(f.out() + "/max_pooling2d_1.npy").shape, (std::vector<size_t>{6, 23, 23, 32}));
  expect_links_exist(f.out() + "/index.html");
  for (const char* stem : {"x_0", "x_1", "x_2", "x_0-2", "x_1-2", "x_2-2"}) {
    const fs::path dir = fs::path(f.out()) / stem;
    EXPECT_TRUE(fs::exists(dir / "input.png")) << stem;
    EXPECT_TRUE(fs::exists(dir / "max_pooling2d_1.png")) << stem;
    expect_links_exist(dir / "index.html");
    EXPECT_NE(acts::test::slurp(dir / "index.html").find("../max_pooling2d_1.npy"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(f.out() + "/input.png")) << "several images: pictures only in the per-image folders";
}

TEST(DumpActsPages, BadInputThrowsBeforeWritingAnything) {
  DumpFixture f("bad", 2);
  auto expect_fails = [&](acts::DumpConfig c, const std::string& says) {
    RecordingPainter painter;
    c.device = "cpu";
    c.painter = &painter;
    if (c.out == "acts") c.out = f.out();
    try {
      acts::dump_activations(c);
      ADD_FAILURE() << "accepted; expected an error saying " << says;
    } catch (const acts::Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(says), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
    }
    EXPECT_TRUE(painter.calls.empty());
    EXPECT_TRUE(acts::test::files_under(c.out).empty()) << c.out << " has files after a failed dump";
  };
  acts::DumpConfig c;
  c.model = f.ckpt;
  c.images = {f.images};

  acts::DumpConfig missing = c;
  missing.model = (f.dir / "none.safetensors").string();
  expect_fails(missing, "none.safetensors");

  const fs::path damaged = f.dir / "damaged.safetensors";
  std::string bytes = acts::test::slurp(f.ckpt);
  bytes[bytes.size() - 100] ^= 0x55;  // a flipped weight: the checksum catches it
  std::ofstream(damaged, std::ios::binary) << bytes;
  acts::DumpConfig bad_ckpt = c;
  bad_ckpt.model = damaged.string();
  expect_fails(bad_ckpt, "damaged checkpoint");
  std::ofstream(damaged, std::ios::binary) << bytes.substr(0, 1000);
  expect_fails(bad_ckpt, "damaged.safetensors");

  acts::DumpConfig layer = c;
  layer.layers = {"conv2d_1", "conv2d_7"};
  expect_fails(layer, "no layer named 'conv2d_7'; valid layers: conv2d_1, max_pooling2d_1");

  acts::DumpConfig channel = c;
  channel.layers = {"conv2d_1"};
  channel.channels = {32};
  expect_fails(channel, "at most 32 channels (0..31)");
  channel.layers = {"dense_1"};
  channel.channels = {0};
  expect_fails(channel, "none of the chosen layers has channels");

  acts::DumpConfig image = c;
  image.images = {f.images, (f.dir / "missing.jpg").string()};
  expect_fails(image, "missing.jpg");
  const std::vector<uint8_t> small(2 * 32 * 32 * 3, 7);
  acts::write_npy((f.dir / "small.npy").string(), small.data(), {2, 32, 32, 3});
  image.images = {(f.dir / "small.npy").string()};
  expect_fails(image, "are 32x32 but the model takes 48x48");
  const float floats[3] = {0, 0, 0};
  acts::write_npy((f.dir / "floats.npy").string(), floats, {1, 1, 3});
  image.images = {(f.dir / "floats.npy").string()};
  expect_fails(image, "must be uint8");
  std::ofstream(f.dir / "broken.npy") << "not an npy";
  image.images = {(f.dir / "broken.npy").string()};
  expect_fails(image, "broken.npy");

  std::ofstream(f.dir / "file") << "x";
  acts::DumpConfig out = c;
  out.out = (f.dir / "file" / "acts").string();
  expect_fails(out, "cannot create the output folder");
  out.out = (f.dir / "file").string();
  try {
    acts::dump_activations(out);
    ADD_FAILURE() << "a file accepted as output folder";
  } catch (const acts::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a folder"), std::string::npos) << e.what();
  }
  if (geteuid() != 0) {  // root writes anywhere: the permission check cannot fail for it
    const fs::path ro = f.dir / "readonly";
    fs::create_directories(ro);
    chmod(ro.c_str(), 0555);
    out.out = ro.string();
    expect_fails(out, "not writable");
    chmod(ro.c_str(), 0755);
  }
}

TEST(DumpActsPages, ListLayersWritesNothing) {
  DumpFixture f("list", 1);
  acts::DumpConfig c;
  c.model = f.ckpt;
  c.list_layers = true;
  c.out = f.out();
  testing::internal::CaptureStdout();
  acts::dump_activations(c);
  const std::string printed = testing::internal::GetCapturedStdout();
  EXPECT_NE(printed.find("max_pooling2d_4      MaxPooling2D   (None, 1, 1, 128)"), std::string::npos) << printed;
  EXPECT_FALSE(fs::exists(f.out()));
}
