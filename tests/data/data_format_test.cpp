// OpenCV-free pieces of the data pipeline: Pillow's NEAREST index arithmetic against Pillow
// itself, image headers read without decoding, JPEG truncation, and datasets given as NPY.
#include <gtest/gtest.h>

#include "runtime/data/dataset.h"
#include "runtime/data/image_header.h"
#include "runtime/data/pil_resize.h"
#include "tests/data/data_test_util.h"
#include "runtime/core/errors.h"
#include "runtime/core/npy.h"

namespace acts {
namespace {

using test::TempDir;

const std::string kOdd = std::string(ACTS_TEST_DATA) + "/odd_images/";

TEST(DataFormat, NearestIndexMatchesPillow) {
  const NpyArray pairs = read_npy(test::golden("pil_nearest_pairs.npy"));
  const std::vector<float> index = read_npy(test::golden("pil_nearest_index.npy")).to_float();
  const std::vector<float> pv = pairs.to_float();
  ASSERT_EQ(pairs.shape.size(), 2u);
  size_t at = 0, checked = 0;
  for (size_t p = 0; p < pairs.shape[0]; ++p) {
    const int src = int(pv[2 * p]), dst = int(pv[2 * p + 1]);
    const std::vector<int> got = pil_nearest_index(src, dst);
    ASSERT_LE(at + dst, index.size());
    for (int i = 0; i < dst; ++i, ++checked)
      ASSERT_EQ(got[i], int(index[at + i])) << "src " << src << " -> dst " << dst << ", output " << i;
    at += dst;
  }
  EXPECT_EQ(at, index.size());
  EXPECT_GT(checked, 10000u);
}

TEST(DataFormat, NearestIndexIsNotTheNaiveFormula) {
  // 200 -> 150 is the tutorial's resize: the closed formula floor((i + 0.5) * 200 / 150) picks
  // another source pixel than Pillow's running sum for some outputs, so a "simplification" of
  // pil_nearest_index to the formula is caught here by name (the golden above pins the values).
  const std::vector<int> idx = pil_nearest_index(200, 150);
  size_t differ = 0;
  for (int i = 0; i < 150; ++i) differ += idx[i] != int((i + 0.5) * 200.0 / 150.0);
  EXPECT_GT(differ, 0u) << "Pillow's accumulated steps round differently from the closed formula";
}

TEST(DataFormat, ImageSizesFromHeaders) {
  for (const char* f : {"gray.png", "rgba.png", "gray16.png", "rgb16.png", "palette.png", "cmyk.jpg", "gray.jpg",
                        "exif_rotated.jpg", "rgb.bmp", "rgb.ppm", "rgb.tif", "upper_case.PNG"}) {
    const auto b = test::read_bytes(kOdd + f);
    const ImageSize s = sniff_image_size(b.data(), b.size());
    EXPECT_TRUE(s.known) << f;
    EXPECT_EQ(s.width, 37) << f;
    EXPECT_EQ(s.height, 23) << f;
  }
  const auto big = test::read_bytes(kOdd + "big.jpg");
  const ImageSize s = sniff_image_size(big.data(), big.size());
  EXPECT_EQ(s.width, 301);
  EXPECT_EQ(s.height, 211);
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_FALSE(sniff_image_size(text.data(), text.size()).known);
  EXPECT_FALSE(sniff_image_size(big.data(), 40).known) << "a header cut short must not be trusted";
}

TEST(DataFormat, JpegTruncationIsDetected) {
  for (const char* f : {"cmyk.jpg", "gray.jpg", "exif_rotated.jpg", "big.jpg"}) {
    auto b = test::read_bytes(kOdd + f);
    EXPECT_EQ(jpeg_end(b.data(), b.size()), JpegEnd::Complete) << f;
    for (size_t keep : {b.size() - 2, b.size() / 2, size_t(700), size_t(3)})
      EXPECT_EQ(jpeg_end(b.data(), keep), JpegEnd::Truncated) << f << " cut to " << keep;
    b.insert(b.end(), {0, 0, 0x12, 0x34});  // bytes after the end marker do not matter
    EXPECT_EQ(jpeg_end(b.data(), b.size()), JpegEnd::Complete) << f;
  }
  const auto png = test::read_bytes(kOdd + "gray.png");
  EXPECT_EQ(jpeg_end(png.data(), png.size()), JpegEnd::NotJpeg);
}

// x.npy / y.npy written here; load_split must hand them back unchanged.
struct NpySplit {
  TempDir t;
  std::vector<uint8_t> x;
  std::vector<float> y = {0, 1, 1, 0, 1};
  NpySplit(int h = 4, int w = 6) {
    for (size_t i = 0; i < 5u * h * w * 3; ++i) x.push_back(uint8_t(i * 7 + 3));
    write_npy((t / "x.npy").string(), x.data(), {5, size_t(h), size_t(w), 3});
    write_npy((t / "y.npy").string(), y.data(), {5});
  }
};

TEST(DataFormat, LoadSplitReadsNpy) {
  NpySplit s;
  LoadOptions o;
  o.height = 4;
  o.width = 6;
  const Dataset d = load_split(s.t.str(), o);
  EXPECT_EQ(d.size(), 5u);
  EXPECT_EQ(d.pixels, s.x);
  EXPECT_EQ(d.labels, s.y);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(found_message(d), "Found 5 images belonging to 2 classes.");
  test::write_text(s.t / "classes.txt", "cats\ndogs\n");
  EXPECT_EQ(load_split(s.t.str(), o).classes, (std::vector<std::string>{"cats", "dogs"}));
}

// Several classes: labels 0..N-1 name classes "0".."N-1", or classes.txt's names, whose count holds
// even where this split lacks the last class; a label beyond classes.txt, a fraction or a
// negative label is refused naming y.npy.
TEST(DataFormat, NpySplitsHoldSeveralClasses) {
  NpySplit s;
  LoadOptions o;
  o.height = 4;
  o.width = 6;
  const std::vector<float> three = {0, 2, 1, 2, 0};
  write_npy((s.t / "y.npy").string(), three.data(), {5});
  const Dataset d = load_split(s.t.str(), o);
  EXPECT_EQ(d.labels, three);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"0", "1", "2"}));
  test::write_text(s.t / "classes.txt", "daisy\nroses\ntulips\nsunflowers\n");
  EXPECT_EQ(load_split(s.t.str(), o).classes, (std::vector<std::string>{"daisy", "roses", "tulips", "sunflowers"}));
  test::write_text(s.t / "classes.txt", "daisy\nroses\n");
  try {
    load_split(s.t.str(), o);
    ADD_FAILURE() << "a label beyond classes.txt was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has label 2 but"), std::string::npos) << e.what();
  }
  for (const std::vector<float>& bad : {std::vector<float>{0, 1, 0.5f, 0, 1}, std::vector<float>{0, -1, 1, 0, 1}}) {
    write_npy((s.t / "y.npy").string(), bad.data(), {5});
    try {
      load_npy((s.t / "x.npy").string(), (s.t / "y.npy").string());
      ADD_FAILURE() << "label " << bad[1] << " / " << bad[2] << " was taken";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("labels must be class indices"), std::string::npos) << e.what();
    }
  }
}

TEST(DataFormat, NpyMistakesAreErrors) {
  LoadOptions o;  // 150 x 150
  {
    NpySplit s;
    try {
      load_split(s.t.str(), o);
      ADD_FAILURE() << "size mismatch not reported";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("4x6 but the model takes 150x150"), std::string::npos) << e.what();
    }
  }
  {
    NpySplit s;
    const std::vector<float> bad = {0, 1, 2.5f, 0, 1};
    write_npy((s.t / "y.npy").string(), bad.data(), {5});
    EXPECT_THROW(load_npy((s.t / "x.npy").string(), (s.t / "y.npy").string()), Error);
    write_npy((s.t / "y.npy").string(), bad.data(), {4});
    EXPECT_THROW(load_npy((s.t / "x.npy").string(), (s.t / "y.npy").string()), Error);
  }
  {
    NpySplit s;
    const std::vector<float> xf(5 * 4 * 6 * 3, 0.5f);
    write_npy((s.t / "x.npy").string(), xf.data(), {5, 4, 6, 3});
    EXPECT_THROW(load_npy((s.t / "x.npy").string(), (s.t / "y.npy").string()), Error);  // float images
    write_npy((s.t / "x.npy").string(), s.x.data(), {5, 4, 18});
    EXPECT_THROW(load_npy((s.t / "x.npy").string(), (s.t / "y.npy").string()), Error);  // not NHWC
  }
  {
    NpySplit s;
    test::fs::remove(s.t / "y.npy");
    try {
      load_split(s.t.str(), o);
      ADD_FAILURE() << "missing y.npy not reported";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("x.npy but no y.npy"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace acts
