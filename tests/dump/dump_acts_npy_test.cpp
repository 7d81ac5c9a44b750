// dump_acts' NPY output and inputs, without pictures: the files numpy will load hold exactly what
// the backend computed for the same images, in Keras' (N, H, W, C) layout (checked against a
// conv2d_1 value computed by hand from the weights), streamed over several forward passes; the
// default layers are the tutorial's first 8; models and images are found as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/compare.h"
#include "tests/dump/dump_acts_fixture.h"
#include "runtime/core/backend.h"
#include "runtime/dump/dump.h"
#include "runtime/dump/sources.h"
#include "runtime/core/errors.h"

using acts::test::DumpFixture;

TEST(DumpActsNpy, FilesHoldTheBackendsActivationsInKerasLayout) {
  DumpFixture f("npy");
  acts::DumpConfig c;
  c.model = f.ckpt;
  c.images = {f.images};
  c.all = true;
  c.out = f.out();
  c.device = "cpu";
  c.batch_size = 2;  // 3 images: two forward passes, streamed into one file
  acts::dump_activations(c);

  const acts::Graph g(f.c.model);
  acts::BackendOptions o;
  o.max_batch = f.n;
  auto be = acts::make_cpu_backend(g, o);
  be->set_params(f.c.params);
  acts::Batch b;
  b.n = f.n;
  b.images = f.pixels.data();
  be->forward(b, false);
  for (const acts::Node& nd : g.nodes()) {
    const acts::NpyArray a = acts::read_npy(f.out() + "/" + nd.spec.name + ".npy");
    EXPECT_EQ(a.dtype, "<f4") << nd.spec.name;
    std::vector<size_t> want = {size_t(f.n)};
    for (int d : nd.out_shape) want.push_back(size_t(d));
    ASSERT_EQ(a.shape, want) << nd.spec.name;
    const std::vector<float> got = a.to_float(), ref = be->activation(nd.spec.name);
    ASSERT_EQ(got.size(), ref.size());
    acts::test::expect_close(nd.spec.name, got, ref, 1e-5, 1e-6);
  }

  // Independent of any backend: np.load('conv2d_1.npy')[i, y, x, k] = relu(b_k + sum W[dy, dx, ci, k]
  // * pixel[i, y + dy, x + dx, ci] / 255), weights in Keras' (kh, kw, Cin, Cout) layout.
  const acts::NpyArray conv = acts::read_npy(f.out() + "/conv2d_1.npy");
  const std::vector<float> v = conv.to_float();
  const acts::Node& c1 = g.node("conv2d_1");
  const float* w = f.c.params.data() + g.params()[size_t(c1.kernel)].offset;
  const float* bias = f.c.params.data() + g.params()[size_t(c1.bias)].offset;
  int positive = 0;
  for (int i : {0, 2})
    for (int y : {0, 17, 45})
      for (int x : {0, 30, 45})
        for (int k : {0, 6, 31}) {
          double s = bias[k];
          for (int dy = 0; dy < 3; ++dy)
            for (int dx = 0; dx < 3; ++dx)
              for (int ci = 0; ci < 3; ++ci)
                s += double(w[((dy * 3 + dx) * 3 + ci) * 32 + k]) *
                     f.pixels[((size_t(i) * 48 + size_t(y + dy)) * 48 + size_t(x + dx)) * 3 + size_t(ci)] / 255.0;
          const double want = std::max(0.0, s);
          positive += want > 0;
          EXPECT_NEAR(v[((size_t(i) * 46 + size_t(y)) * 46 + size_t(x)) * 32 + size_t(k)], want, 1e-5)
              << "[" << i << ", " << y << ", " << x << ", " << k << "]";
        }
  EXPECT_GT(positive, 5) << "the check needs units that are not cut off by the ReLU";

  const std::string list = acts::test::slurp(f.out() + "/images.txt");
  EXPECT_EQ(list, f.images + "[0]\n" + f.images + "[1]\n" + f.images + "[2]\n");
  EXPECT_FALSE(acts::test::fs::exists(f.out() + "/index.html")) << "no Painter: NPY files only";
}

TEST(DumpActsNpy, OneRowOfAnNpyAndTheDefaultLayers) {
  DumpFixture f("row");
  acts::DumpConfig c;
  c.model = f.ckpt;
  c.out = f.out();
  c.device = "cpu";
  c.images = {f.images};
  acts::dump_activations(c);
  const acts::Graph g(f.c.model);
  int dumped = 0;
  for (const acts::Node& nd : g.nodes()) dumped += acts::test::fs::exists(f.out() + "/" + nd.spec.name + ".npy");
  EXPECT_EQ(dumped, 8) << "model.layers[:8]";
  EXPECT_TRUE(acts::test::fs::exists(f.out() + "/max_pooling2d_4.npy"));
  EXPECT_FALSE(acts::test::fs::exists(f.out() + "/flatten_1.npy"));
}

TEST(DumpActsNpy, LayerSelection) {
  const acts::Graph g(acts::tutorial_model(150));
  EXPECT_EQ(acts::select_layers(g, {}, false), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(acts::select_layers(g, {}, true).size(), g.nodes().size());
  EXPECT_EQ(acts::select_layers(g, {"dense_1", "conv2d_3", "dense_1"}, false), (std::vector<int>{4, 9}));
  try {
    acts::select_layers(g, {"conv2d_9"}, false);
    FAIL() << "unknown layer accepted";
  } catch (const acts::Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d_9"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("conv2d_1, max_pooling2d_1, conv2d_2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(acts::batch_shape(1, g.nodes()[0].out_shape), "(1, 148, 148, 32)");
  EXPECT_EQ(acts::batch_shape(5, g.nodes().back().out_shape), "(5, 1)");
  const std::string table = acts::layer_table(g);
  EXPECT_NE(table.find("conv2d_1             Conv2D         (None, 148, 148, 32)"), std::string::npos) << table;
}

// --list-layers keeps its columns when a name or a class is longer than the tutorial's.
TEST(DumpActsNpy, LayerTableColumnsFitLongNamesAndClasses) {
  acts::ModelSpec m = acts::tutorial_model(48);
  acts::LayerSpec gap;
  gap.type = acts::LayerType::GlobalAveragePooling2D;
  m.layers.insert(m.layers.begin() + 8, gap);  // in place of the Flatten
  m.layers.erase(m.layers.begin() + 9);
  m.layers[0].name = "a_first_convolution_named_at_length";
  const acts::Graph g(m);
  const std::string table = acts::layer_table(g);
  std::istringstream lines(table);
  std::string line;
  size_t shape_column = std::string::npos;
  while (std::getline(lines, line)) {
    if (line.rfind("*", 0) == 0) continue;  // the footnote
    const size_t at = line.find("(None");
    ASSERT_NE(at, std::string::npos) << line;
    if (shape_column == std::string::npos) shape_column = at;
    EXPECT_EQ(at, shape_column) << "misaligned:\n" << table;
  }
  EXPECT_NE(table.find(" GlobalAveragePooling2D (None, 128)\n"), std::string::npos) << table;
}

TEST(DumpActsNpy, ModelIsAFileARunFolderOrRunsLatest) {
  DumpFixture f("model");
  const auto run = f.dir / "run";
  acts::test::fs::create_directories(run);
  EXPECT_THROW(acts::resolve_checkpoint(run.string()), acts::Error) << "a run folder without checkpoints";
  acts::test::fs::copy_file(f.ckpt, run / "last.safetensors");
  EXPECT_EQ(acts::resolve_checkpoint(run.string()), (run / "last.safetensors").string());
  acts::test::fs::copy_file(f.ckpt, run / "final.safetensors");
  EXPECT_EQ(acts::resolve_checkpoint(run.string()), (run / "final.safetensors").string());
  EXPECT_EQ(acts::resolve_checkpoint(f.ckpt), f.ckpt);
  EXPECT_THROW(acts::resolve_checkpoint((f.dir / "nope.safetensors").string()), acts::Error);

  const auto cwd = acts::test::fs::current_path();
  acts::test::fs::current_path(f.dir);
  try {
    acts::resolve_checkpoint("");
    ADD_FAILURE() << "no runs/latest accepted";
  } catch (const acts::Error& e) {
    EXPECT_NE(std::string(e.what()).find("train_gpu"), std::string::npos) << e.what();
  }
  acts::test::fs::create_directories("runs");
  acts::test::fs::create_directory_symlink("../run", "runs/latest");
  EXPECT_EQ(acts::resolve_checkpoint(""), "runs/latest/final.safetensors");
  acts::test::fs::current_path(cwd);
}

TEST(DumpActsNpy, DefaultImageIsTheFirstTestImageInKerasOrder) {
  DumpFixture f("default");
  const auto data = f.dir / "data";
  for (const char* p : {"test/dogs/a.jpg", "test/cats/b.png", "test/cats/a.JPG", "test/cats/notes.txt",
                        "validation/cats/0.jpg", "validation/dogs/1.jpg"}) {
    acts::test::fs::create_directories((data / p).parent_path());
    std::ofstream(data / p) << "x";
  }
  const std::map<std::string, std::string> meta = {{"data", data.string()}};
  EXPECT_EQ(acts::default_image(meta, "m").path, (data / "test/cats/a.JPG").string());
  acts::test::fs::remove_all(data / "test");
  EXPECT_EQ(acts::default_image(meta, "m").path, (data / "validation/cats/0.jpg").string());
  acts::test::fs::create_directories(data / "test");
  acts::test::fs::copy_file(f.images, data / "test/x.npy");
  const acts::ImageRef npy = acts::default_image(meta, "m");
  EXPECT_EQ(npy.path, (data / "test/x.npy").string());
  EXPECT_EQ(npy.row, 0);
  EXPECT_THROW(acts::default_image({}, "m"), acts::Error) << "no data folder recorded";
  EXPECT_THROW(acts::default_image({{"data", (f.dir / "gone").string()}}, "m"), acts::Error);

  // A folder given to --image: its own files first, then sub-folders, each sorted.
  const std::string val = (data / "validation").string();
  EXPECT_EQ(acts::list_images(val, true), (std::vector<std::string>{val + "/cats/0.jpg", val + "/dogs/1.jpg"}));
  std::ofstream(data / "validation/top.png") << "x";
  EXPECT_EQ(acts::list_images(val, true),
            (std::vector<std::string>{val + "/top.png", val + "/cats/0.jpg", val + "/dogs/1.jpg"}));
  EXPECT_EQ(acts::list_images(val, false).size(), 2u);
}

// --compare B: each dumped layer under model B (NAME_b.npy, exactly what dumping B alone writes)
// and B - A (NAME_diff.npy, exactly the difference of the two in float); a model of another
// architecture, or --compare with a heatmap, is refused before anything is written.
TEST(DumpActsNpy, CompareWritesTheOtherModelsOutputsAndTheDifference) {
  DumpFixture f("compare");
  acts::Checkpoint b = f.c;
  for (float& w : b.params) w *= 1.25f;  // "a later epoch"
  const std::string b_path = (f.dir / "b.safetensors").string();
  acts::save_checkpoint(b_path, b);
  acts::DumpConfig c;
  c.model = f.ckpt;
  c.compare = b_path;
  c.images = {f.images};
  c.layers = {"conv2d_1", "dense_1"};
  c.out = f.out();
  c.device = "cpu";
  c.batch_size = 2;
  acts::dump_activations(c);
  acts::DumpConfig only_b = c;
  only_b.model = b_path;
  only_b.compare.clear();
  only_b.out = f.out() + "_b";
  acts::dump_activations(only_b);
  for (const std::string layer : {"conv2d_1", "dense_1"}) {
    const std::vector<float> a = acts::read_npy(c.out + "/" + layer + ".npy").to_float();
    const std::vector<float> under_b = acts::read_npy(c.out + "/" + layer + "_b.npy").to_float();
    const std::vector<float> diff = acts::read_npy(c.out + "/" + layer + "_diff.npy").to_float();
    EXPECT_EQ(under_b, acts::read_npy(only_b.out + "/" + layer + ".npy").to_float()) << layer;
    ASSERT_EQ(diff.size(), a.size());
    size_t changed = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(diff[k], under_b[k] - a[k]) << layer << " " << k;
      changed += diff[k] != 0;
    }
    EXPECT_GT(changed, a.size() / 4) << layer << ": the models hardly differ";
  }

  acts::Checkpoint other = f.c;
  other.model = acts::tutorial_model(64);
  other.params = acts::init_params(acts::Graph(other.model), 3);
  const std::string other_path = (f.dir / "other.safetensors").string();
  acts::save_checkpoint(other_path, other);
  acts::DumpConfig bad = c;
  bad.compare = other_path;
  bad.out = f.out() + "_bad";
  EXPECT_THROW(acts::dump_activations(bad), acts::Error);
  bad.compare = b_path;
  bad.cams = {"gradcam"};
  EXPECT_THROW(acts::dump_activations(bad), acts::BadRequest);
  EXPECT_FALSE(std::filesystem::exists(bad.out)) << "a refused dump made its folder";
}
