// Image decoding against Keras (keras_preprocessing + Pillow goldens from
// scripts/reference/make_data_golden.py): real photos through load_directory, odd formats through
// load_image, and the bad-input policy on a folder made here (skips, warnings, errors).
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <random>

#include "runtime/data/dataset.h"
#include "runtime/data/pil_resize.h"
#include "tests/data/data_test_util.h"
#include "runtime/core/errors.h"
#include "runtime/core/npy.h"

namespace acts {
namespace {

using test::TempDir;
namespace fs = test::fs;

const std::string kData = ACTS_TEST_DATA;
const std::string kOdd = kData + "/odd_images/";

#define REQUIRE_IMAGE_IO() \
  if (!have_image_io()) GTEST_SKIP() << "this build has no image decoding (ACTS_WITH_OPENCV off)"

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no acts::Error)";
}

LoadOptions size(int h, int w) {
  LoadOptions o;
  o.height = h;
  o.width = w;
  return o;
}

TEST(DataDecode, WithoutOpenCvTheMessageSaysWhatToDo) {
  if (have_image_io()) GTEST_SKIP() << "built with OpenCV; the no-decoding message is not reachable";
  const std::string m = error_of([] { load_directory(kData + "/photos", LoadOptions{}); });
  EXPECT_NE(m.find("without OpenCV"), std::string::npos) << m;
  EXPECT_NE(m.find("x.npy/y.npy"), std::string::npos) << m;
}

TEST(DataDecode, PhotosMatchKerasFlowFromDirectory) {
  REQUIRE_IMAGE_IO();
  const auto g = test::read_json(test::golden("photos.json"));
  const NpyArray want = read_npy(test::golden("photos_150.npy"));  // (6, 150, 150, 3) uint8
  for (int threads : {1, 3}) {
    LoadOptions o;
    o.threads = threads;
    const Dataset d = load_directory(kData + "/photos", o);
    EXPECT_EQ(found_message(d), g["found"].get<std::string>());
    EXPECT_EQ(d.files, g["filenames"].get<std::vector<std::string>>());
    EXPECT_EQ(d.labels, g["labels"].get<std::vector<float>>());
    ASSERT_EQ(d.classes.size(), 2u);
    EXPECT_EQ(g["class_indices"][d.classes[0]], 0);
    EXPECT_EQ(g["class_indices"][d.classes[1]], 1);
    EXPECT_EQ(d.skipped, 0u);
    ASSERT_EQ(d.pixels.size(), want.count());
    size_t differ = 0;
    for (size_t i = 0; i < d.pixels.size(); ++i) differ += d.pixels[i] != want.u8()[i];
    EXPECT_EQ(differ, 0u) << "pixels differing from Keras' (threads " << threads << ")";
  }
}

TEST(DataDecode, OddFormatsMatchPil) {
  REQUIRE_IMAGE_IO();
  const auto g = test::read_json(test::golden("odd.json"));
  const NpyArray want = read_npy(test::golden("odd_29x41.npy"));  // (N, 29, 41, 3)
  const size_t img = 29 * 41 * 3;
  for (size_t k = 0; k < g["names"].size(); ++k) {
    const std::string name = g["names"][k];
    const std::vector<uint8_t> got = load_image(kOdd + name, size(29, 41));
    ASSERT_EQ(got.size(), img) << name;
    if (g["tolerance"][k].is_null()) continue;  // gray16.png: its own test below
    const int tol = g["tolerance"][k];
    int worst = 0;
    for (size_t i = 0; i < img; ++i) worst = std::max(worst, std::abs(int(got[i]) - want.u8()[k * img + i]));
    EXPECT_LE(worst, tol) << name << " (PIL mode " << g["modes"][k].get<std::string>() << ")";
  }
}

// CMYK JPEGs: OpenCV converts libjpeg's (Adobe-inverted) CMYK with k - ((255 - c) * k >> 8),
// Pillow with k - (255 - c) * k / 255 rounded, so ours come out 0 to 2 higher, never lower
// (docs/decoding.md). Pinned here: every value is PIL's or above it by at most 2, and this
// Pillow-written file (K = 0) is above it in most values (+1 wherever C, M or Y is not 0).
TEST(DataDecode, CmykJpegIsPilsOrUpToTwoHigher) {
  REQUIRE_IMAGE_IO();
  const auto g = test::read_json(test::golden("odd.json"));
  const NpyArray want = read_npy(test::golden("odd_29x41.npy"));
  const size_t img = 29 * 41 * 3;
  size_t k = 0;
  while (k < g["names"].size() && g["names"][k] != "cmyk.jpg") ++k;
  ASSERT_LT(k, g["names"].size());
  const std::vector<uint8_t> got = load_image(kOdd + "cmyk.jpg", size(29, 41));
  size_t higher = 0;
  for (size_t i = 0; i < img; ++i) {
    const int d = int(got[i]) - want.u8()[k * img + i];
    ASSERT_GE(d, 0) << "value " << i;
    ASSERT_LE(d, 2) << "value " << i;
    higher += d > 0;
  }
  EXPECT_GT(higher, img * 9 / 10) << higher << " of " << img;
}

// 16-bit grayscale: PIL clips the 16-bit values to 255 (mostly white); we keep the top byte as
// Pillow does for 16-bit RGB. Expected values from the PNG's own samples.
TEST(DataDecode, Gray16KeepsTheTopByte) {
  REQUIRE_IMAGE_IO();
  const std::vector<uint8_t> got = load_image(kOdd + "gray16.png", size(23, 37));  // native size
  const std::vector<float> v = read_npy(test::golden("gray16_values.npy")).to_float();
  ASSERT_EQ(got.size(), v.size() * 3);
  for (size_t i = 0; i < v.size(); ++i)
    for (int c = 0; c < 3; ++c) ASSERT_EQ(got[3 * i + c], int(v[i]) >> 8) << "pixel " << i << " channel " << c;
}

TEST(DataDecode, InterpolationOptions) {
  REQUIRE_IMAGE_IO();
  const std::vector<uint8_t> nearest = load_image(kOdd + "big.jpg", size(53, 97));
  for (const char* interp : {"bilinear", "area"}) {
    LoadOptions o = size(53, 97);
    o.interpolation = interp;
    const std::vector<uint8_t> got = load_image(kOdd + "big.jpg", o);
    ASSERT_EQ(got.size(), nearest.size());
    double diff = 0;
    size_t same = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      diff += std::abs(int(got[i]) - nearest[i]);
      same += got[i] == nearest[i];
    }
    // Same picture, smoothed: close to the nearest-neighbour pixels on average, but not them.
    EXPECT_LT(diff / got.size(), 40.0) << interp;
    EXPECT_LT(same, got.size()) << interp;
  }
  LoadOptions bad;
  bad.interpolation = "bicubic";
  EXPECT_NE(error_of([&] { load_image(kOdd + "big.jpg", bad); }).find("use nearest"), std::string::npos);
}

// A class folder with every kind of trouble: the odd images (all fine), broken files with image
// extensions (skipped and reported), other files (ignored).
TEST(DataDecode, BadFilesAreSkippedAndReported) {
  REQUIRE_IMAGE_IO();
  TempDir t;
  const auto g = test::read_json(test::golden("odd.json"));
  for (const auto& n : g["names"]) test::copy_into(kOdd + n.get<std::string>(), t / "cats");
  for (const char* n : {"dog.0.jpg", "dog.11.jpg"}) test::copy_into(kData + "/photos/dogs/" + n, t / "dogs");
  const auto photo = test::read_bytes(kData + "/photos/dogs/dog.3.jpg");
  test::write_bytes(t / "dogs/truncated.jpg", std::vector<uint8_t>(photo.begin(), photo.begin() + photo.size() / 2));
  test::write_bytes(t / "dogs/empty.jpg", {});
  test::write_text(t / "cats/garbage.png", std::string(300, '\x5a'));
  test::write_text(t / "cats/text.jpeg", "this is not a picture");
  test::write_text(t / "cats/notes.txt", "ignored: not an image extension");
  test::write_text(t / "dogs/anim.gif", "GIF89a ignored");

  std::vector<std::string> warnings;
  LoadOptions o = size(29, 41);
  o.threads = 2;
  o.warn = [&](const std::string& m) { warnings.push_back(m); };
  const Dataset d = load_directory(t.str(), o);
  EXPECT_EQ(d.skipped, 4u);
  ASSERT_EQ(warnings.size(), 4u);
  // In file order: cats/garbage.png, cats/text.jpeg, dogs/empty.jpg, dogs/truncated.jpg.
  const char* bad[] = {"cats/garbage.png", "cats/text.jpeg", "dogs/empty.jpg", "dogs/truncated.jpg"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(warnings[i].find((t / bad[i]).string()), std::string::npos) << warnings[i];
    EXPECT_NE(warnings[i].find("skipped"), std::string::npos) << warnings[i];
  }
  EXPECT_NE(warnings[2].find("empty"), std::string::npos) << warnings[2];
  EXPECT_NE(warnings[3].find("truncated"), std::string::npos) << warnings[3];
  EXPECT_EQ(d.size(), g["names"].size() + 2);
  EXPECT_EQ(found_message(d), "Found " + std::to_string(d.size()) + " images belonging to 2 classes.");
  for (const auto& f : d.files) EXPECT_EQ(f.find("truncated"), std::string::npos);
  // What is kept is exactly what load_image gives for each file, in listing order.
  const size_t img = 29 * 41 * 3;
  for (size_t i = 0; i < d.size(); ++i) {
    const std::vector<uint8_t> one = load_image((t / d.files[i]).string(), o);
    EXPECT_EQ(std::memcmp(one.data(), d.image(i), img), 0) << d.files[i];
  }
}

TEST(DataDecode, AClassWhoseFilesAreAllBrokenIsAnError) {
  REQUIRE_IMAGE_IO();
  TempDir t;
  test::write_bytes(t / "cats/empty.jpg", {});
  test::copy_into(kData + "/photos/dogs/dog.0.jpg", t / "dogs");
  LoadOptions o;
  o.warn = [](const std::string&) {};
  const std::string m = error_of([&] { load_directory(t.str(), o); });
  EXPECT_NE(m.find((t / "cats").string()), std::string::npos) << m;
  EXPECT_NE(m.find("no image of this class"), std::string::npos) << m;
}

TEST(DataDecode, FolderMistakesAreErrors) {
  REQUIRE_IMAGE_IO();
  TempDir t;
  EXPECT_NE(error_of([&] { load_directory((t / "missing").string(), LoadOptions{}); }).find("no such folder"),
            std::string::npos);
  test::fs::create_directories(t / "cats");  // empty class folder
  test::copy_into(kData + "/photos/dogs/dog.0.jpg", t / "dogs");
  const std::string m = error_of([&] { load_split(t.str(), LoadOptions{}); });
  EXPECT_NE(m.find((t / "cats").string() + ": class folder has no images"), std::string::npos) << m;
}

// PNG and JPEG headers claiming 30000 pixels: refused from the header, before any decoding
// would try to allocate 2.7 GB. In a folder such a file is skipped with a warning, as a broken
// one is (it aborted the whole run).
TEST(DataDecode, GiganticImagesAreRefusedFromTheHeader) {
  REQUIRE_IMAGE_IO();
  TempDir t;
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G',  '\r', '\n', 0x1a, '\n', 0,    0, 0, 13, 'I', 'H', 'D',
                              'R',  0,   0,   0x75, 0x30, 0,    0,    0x75, 0x30, 8, 2, 0,  0,   0};  // 30000 x 30000
  test::write_bytes(t / "cats/huge.png", png);
  auto jpg = test::read_bytes(kData + "/photos/dogs/dog.0.jpg");
  for (size_t p = 2; p + 9 < jpg.size(); ++p)  // patch the frame header (SOF0/SOF2) to 30000 x 25000
    if (jpg[p] == 0xFF && (jpg[p + 1] == 0xC0 || jpg[p + 1] == 0xC2)) {
      jpg[p + 5] = 0x61, jpg[p + 6] = 0xA8, jpg[p + 7] = 0x75, jpg[p + 8] = 0x30;
      break;
    }
  test::write_bytes(t / "dogs/huge.jpg", jpg);
  test::copy_into(kData + "/photos/cats/cat.1.jpg", t / "cats");
  test::copy_into(kData + "/photos/dogs/dog.0.jpg", t / "dogs");
  std::vector<std::string> warnings;
  LoadOptions o;
  o.warn = [&](const std::string& m) { warnings.push_back(m); };
  const Dataset d = load_directory(t.str(), o);
  EXPECT_EQ(d.files, (std::vector<std::string>{"cats/cat.1.jpg", "dogs/dog.0.jpg"}));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], (t / "cats/huge.png").string() +
                             ": skipped: 30000x30000 pixels is larger than the 20000-pixel limit per side; shrink "
                             "the picture or remove it from the folder");
  EXPECT_EQ(warnings[1].find((t / "dogs/huge.jpg").string() + ": skipped: 30000x25000 pixels"), 0u) << warnings[1];
  const std::string m = error_of([&] { load_image((t / "cats/huge.png").string(), LoadOptions{}); });
  EXPECT_NE(m.find((t / "cats/huge.png").string() + ": 30000x30000 pixels"), std::string::npos) << m;
  EXPECT_NE(m.find("20000"), std::string::npos) << m;
  const std::string mj = error_of([&] { load_image((t / "dogs/huge.jpg").string(), LoadOptions{}); });
  EXPECT_NE(mj.find("30000x25000 pixels"), std::string::npos) << mj;
}

// Found by fuzzing (tests/fuzz/regressions/image_decode): the size limit must hold before any
// decoder allocates, also where the header walk gave up but the decoder goes on: a JPEG with two
// stray bytes before its frame header (libjpeg skips them with a warning) claiming 30000 x 25000
// pixels, and a format OpenCV reads but the header sniffing does not know (Radiance HDR, -Y 30000).
// Address space is capped at 1 GB more than in use, so a decoder that allocates first fails.
TEST(DataDecode, SizeLimitHoldsBeforeAnyDecoderAllocates) {
  REQUIRE_IMAGE_IO();
  TempDir t;
  auto jpg = test::read_bytes(kData + "/photos/dogs/dog.0.jpg");
  for (size_t p = 2; p + 9 < jpg.size(); ++p)
    if (jpg[p] == 0xFF && (jpg[p + 1] == 0xC0 || jpg[p + 1] == 0xC2)) {
      jpg[p + 5] = 0x61, jpg[p + 6] = 0xA8, jpg[p + 7] = 0x75, jpg[p + 8] = 0x30;
      jpg.insert(jpg.begin() + long(p), {0x0a, 0x0a});
      break;
    }
  test::write_bytes(t / "stray.jpg", jpg);
  test::write_text(t / "huge.hdr", "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 30000 +X 3\n" + std::string(64, '\x01'));
  long pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &old), 0);
  rlimit cap = old;
  cap.rlim_cur = rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (rlim_t(1) << 30);
  ASSERT_EQ(setrlimit(RLIMIT_AS, &cap), 0);
  const std::string mj = error_of([&] { load_image((t / "stray.jpg").string(), LoadOptions{}); });
  const std::string mh = error_of([&] { load_image((t / "huge.hdr").string(), LoadOptions{}); });
  ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);
  EXPECT_NE(mj.find((t / "stray.jpg").string() + ": 30000x25000 pixels is larger than the 20000-pixel limit"),
            std::string::npos) << mj;
  EXPECT_NE(mh.find((t / "huge.hdr").string() + ": image header not recognised"), std::string::npos) << mh;
}

// Randomly damaged copies of every odd image (cut short, bytes overwritten): each one either
// decodes or is refused with a reason; the header parsers and the decoders never crash (run
// under -fsanitize=address,undefined to check for out-of-bounds reads too).
TEST(DataDecode, DamagedFilesNeverCrash) {
  REQUIRE_IMAGE_IO();
  TempDir t;
  const auto g = test::read_json(test::golden("odd.json"));
  std::mt19937 rng(12);
  size_t refused = 0, decoded = 0;
  for (const auto& n : g["names"]) {
    const auto good = test::read_bytes(kOdd + n.get<std::string>());
    for (int k = 0; k < 40; ++k) {
      auto b = good;
      if (k % 2) b.resize(rng() % b.size());
      for (int f = 0; f < 1 + k % 5; ++f)
        if (!b.empty()) b[rng() % b.size()] = uint8_t(rng());
      const auto path = t / ("damaged_" + std::to_string(k) + "_" + n.get<std::string>());
      test::write_bytes(path, b);
      try {
        EXPECT_EQ(load_image(path.string(), size(29, 41)).size(), 29u * 41 * 3);
        ++decoded;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 100u);
  EXPECT_GT(decoded, 10u);
}

}  // namespace
}  // namespace acts
