// Several classes end to end, as a user runs the apps: train_gpu on a three-class folder
// (tests/fixtures/flowers3, made by scripts/data/make_flowers3_fixture.py) with a Dense(3, softmax)
// head writes a run; dump_acts on it names the top classes with their probabilities and draws a
// class's heatmap; a head or class mode that does not fit the folders is refused in one line.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app_files.h"
#include "run_process.h"
#include "runtime/core/checkpoint.h"
#include "runtime/keras/keras_file.h"
#include "runtime/keras/zip_archive.h"

namespace fs = std::filesystem;
using acts::testing::contains;
using acts::testing::read_file;
using acts::testing::run;

namespace {

const std::string kTrain = ACTS_TRAIN_GPU;
const std::string kDump = ACTS_DUMP_ACTS;
const std::string kFlowers = fs::canonical(std::string(ACTS_TEST_DATA) + "/flowers3").string();
const std::string kSample = std::string(ACTS_TEST_DATA) + "/../../data/sample";
const std::string kQuick = " --device cpu --epochs 1 --steps-per-epoch 2 --batch-size 4 --validation-steps 1 --seed 3";

const acts::testing::ScratchDirs kScratch("acts_multiclass_test_");

// A small Keras model JSON for 32x32 photos ending in Dense(units, head), written to `path`.
std::string model_file(const std::string& path, int units, const char* head) {
  const nlohmann::json m = {
      {"class_name", "Sequential"},
      {"config",
       {{{"class_name", "Conv2D"},
         {"config",
          {{"name", "conv2d_1"}, {"batch_input_shape", {nullptr, 32, 32, 3}}, {"filters", 4}, {"kernel_size", 3},
           {"activation", "relu"}}}},
        {{"class_name", "MaxPooling2D"}, {"config", {{"name", "max_pooling2d_1"}}}},
        {{"class_name", "Flatten"}, {"config", {{"name", "flatten_1"}}}},
        {{"class_name", "Dense"}, {"config", {{"name", "dense_1"}, {"units", units}, {"activation", head}}}}}}};
  std::ofstream(path) << m.dump();
  return path;
}

// The lines of the output that start with "error: ".
int error_lines(const std::string& out) {
  int n = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) n += line.rfind("error: ", 0) == 0;
  return n;
}

}  // namespace

TEST(MultiClass, TrainsThreeClassesAndDumpActsNamesTheTopClasses) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string out = kScratch.fresh("run"), model = model_file(kScratch.fresh("m.json"), 3, "softmax");
  const auto r = run(kTrain + " --data " + kFlowers + " --model " + model + " --out " + out + kQuick);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Found 12 images belonging to 3 classes.")) << r.out;
  EXPECT_TRUE(contains(r.out, "Found 6 images belonging to 3 classes.")) << r.out;
  EXPECT_TRUE(contains(r.out, "Class mode categorical: categorical_crossentropy, categorical_accuracy over 3 classes"))
      << r.out;
  EXPECT_TRUE(contains(r.out, " - val_acc: ")) << r.out;
  const acts::Checkpoint ck = acts::load_checkpoint(out + "/final.safetensors");
  EXPECT_EQ(ck.meta.at("classes"), R"(["daisy","roses","tulips"])");

  // Sparse labels are the same class indices, so the same loss and the same weights.
  const std::string sparse = kScratch.fresh("sparse");
  const auto s = run(kTrain + " --data " + kFlowers + " --model " + model + " --out " + sparse +
                     " --class-mode sparse" + kQuick);
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_TRUE(contains(s.out, "Class mode sparse: sparse_categorical_crossentropy, sparse_categorical_accuracy"))
      << s.out;
  EXPECT_EQ(acts::load_checkpoint(sparse + "/final.safetensors").params, ck.params);

  // dump_acts: the first test photo (test/daisy/...), its top three classes with probabilities,
  // and a heatmap of a class named by the run.
  const std::string acts_dir = kScratch.fresh("acts");
  const auto d = run(kDump + " --model " + out + " --layer dense_1 --cam gradcam --class tulips --out " + acts_dir);
  ASSERT_EQ(d.code, 0) << d.out;
  std::string line;  // "<photo>: daisy 0.4059, roses 0.3354, tulips 0.2586", best first
  for (std::istringstream in(d.out); std::getline(in, line);)
    if (contains(line, "test/daisy/") && contains(line, ".jpg: ")) break;
  for (const char* name : {"daisy 0.", "roses 0.", "tulips 0."}) EXPECT_TRUE(contains(line, name)) << d.out;
  const std::string page = read_file(acts_dir + "/index.html");
  EXPECT_TRUE(contains(page, "Prediction: ")) << page;
  EXPECT_TRUE(contains(page, "tulips")) << page;
  EXPECT_TRUE(contains(page, "(logit), P = ")) << page;
  EXPECT_TRUE(fs::exists(acts_dir + "/cam_gradcam.npy"));

  // --classes must name every class of the head.
  const std::string no = kScratch.fresh("no_acts");
  const auto bad = run(kDump + " --model " + out + " --classes a,b --out " + no);
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_EQ(error_lines(bad.out), 1) << bad.out;
  EXPECT_TRUE(contains(bad.out, "error: --classes: the model's head scores 3 classes; give 3 names in class-index "
                                "order, not 2\n"))
      << bad.out;
  EXPECT_FALSE(fs::exists(no));
}

// A Keras file brings the loss it was compiled with: train_gpu takes its class mode (Keras users
// compile softmax heads with sparse_categorical_crossentropy more often than not) unless
// --class-mode says otherwise, and says which it used.
TEST(MultiClass, AKerasFileCompiledWithASparseLossTrainsInSparseMode) {
  SKIP_WITHOUT_PHOTO_DECODING();
  if (!acts::keras_files_supported()) GTEST_SKIP() << acts::keras_files_missing();
  const std::string model = model_file(kScratch.fresh("m.json"), 3, "softmax"), first = kScratch.fresh("run");
  const auto r = run(kTrain + " --data " + kFlowers + " --model " + model + " --out " + first + kQuick);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string exported = kScratch.fresh("exported.keras"), compiled = kScratch.fresh("compiled.keras");
  const auto e = run(kTrain + " --model " + first + " --export " + exported);
  ASSERT_EQ(e.code, 0) << e.out;
  {  // as Keras writes a model compiled with loss="sparse_categorical_crossentropy"
    const acts::ZipReader z(exported);
    nlohmann::json config = nlohmann::json::parse(z.read("config.json"));
    config["compile_config"] = {{"loss", "sparse_categorical_crossentropy"}, {"optimizer", "rmsprop"}};
    std::vector<std::pair<std::string, std::string>> entries;
    for (const std::string& name : z.entries())
      entries.emplace_back(name, name == "config.json" ? config.dump() : z.read(name));
    std::ofstream(compiled, std::ios::binary) << acts::make_zip(entries, compiled);
  }
  const auto s = run(kTrain + " --data " + kFlowers + " --model " + compiled + " --out " + kScratch.fresh("sparse") +
                     kQuick);
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_TRUE(contains(s.out, compiled + " was compiled with loss sparse_categorical_crossentropy; class mode sparse "
                                         "(the file's)\n"))
      << s.out;
  EXPECT_TRUE(contains(s.out, "Class mode sparse: sparse_categorical_crossentropy, sparse_categorical_accuracy"))
      << s.out;
  const auto c = run(kTrain + " --data " + kFlowers + " --model " + compiled + " --out " + kScratch.fresh("asked") +
                     " --class-mode categorical" + kQuick);
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_TRUE(contains(c.out, "class mode categorical (--class-mode)\n")) << c.out;
  EXPECT_TRUE(contains(c.out, "Class mode categorical: categorical_crossentropy")) << c.out;
}

TEST(MultiClass, AHeadOrClassModeThatDoesNotFitTheFoldersIsRefusedInOneLine) {
  SKIP_WITHOUT_PHOTO_DECODING();
  const std::string five = model_file(kScratch.fresh("five.json"), 5, "softmax");
  const std::string three = model_file(kScratch.fresh("three.json"), 3, "softmax");
  const std::string one = model_file(kScratch.fresh("one.json"), 1, "softmax");
  struct Case {
    std::string args, message;
    int code;  // 2: a --class-mode the head cannot train with; 1: folders or a model that do not fit (as any bad
               // folder or model JSON)
  };
  const Case cases[] = {
      {"--data " + kFlowers + " --model " + five,
       "error: " + kFlowers + "/train: 3 class folders, but the last layer dense_1 (Dense, output (None, 5)) scores 5 "
       "classes; end the model with Dense(3, activation='softmax'), or give the data 5 class folders",
       1},
      {"--data " + kFlowers + " --model " + three + " --class-mode binary",
       "error: --class-mode binary: the last layer dense_1 (Dense, output (None, 3)) is a softmax; binary "
       "cross-entropy needs Dense(1, activation='sigmoid'); use --class-mode categorical or sparse",
       2},
      {"--data " + kFlowers + " --image-size 48",
       "error: " + kFlowers + "/train: 3 class folders, but the last layer dense_2 (Dense, output (None, 1)) scores 2 "
       "classes (binary); give the data 2 class folders, or end the model with Dense(3, activation='softmax')",
       1},
      {"--data " + kSample + " --image-size 48 --class-mode sparse",
       "error: --class-mode sparse: the last layer dense_2 (Dense, output (None, 1)) is one sigmoid unit; "
       "sparse_categorical_crossentropy needs Dense(2, activation='softmax'); or use --class-mode binary with 2 "
       "class folders",
       2},
      {"--data " + kFlowers + " --model " + one,
       "error: " + one + ": model: the last layer dense_1 (Dense, output (None, 1)) is a softmax over 1 unit, which "
       "is always 1; use Dense(1, activation='sigmoid') for two classes or Dense(N, activation='softmax') for N "
       "classes",
       1},
  };
  for (const Case& c : cases) {
    const std::string out = kScratch.fresh("refused");
    const auto r = run(kTrain + " " + c.args + " --out " + out + kQuick);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_EQ(error_lines(r.out), 1) << r.out;
    EXPECT_TRUE(contains(r.out, c.message + "\n")) << c.args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(out + "/last.safetensors")) << c.args;
  }
  const auto bad = run(kTrain + " --data " + kFlowers + " --class-mode multi" + kQuick);
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_TRUE(contains(bad.out, "--class-mode")) << bad.out;
}
