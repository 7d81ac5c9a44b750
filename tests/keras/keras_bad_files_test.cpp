// Hostile Keras files: every file load_keras_model cannot use must end in one acts::BadFile whose
// one-line message names the file and says the fix; never a crash, a hang (a FIFO), silently
// wrong weights (a damaged archive) or a half-written file (save_keras_model). The damaged files
// are made here from Keras' own (tests/fixtures/keras): cut, byte-flipped, or rebuilt with a
// changed config.json (acts::make_zip).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/errors.h"
#include "runtime/keras/hdf5_file.h"
#include "runtime/keras/keras_file.h"
#include "runtime/keras/zip_archive.h"
#include "tests/keras/refused_in_child.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::string kFixtures = std::string(ACTS_TEST_DATA) + "/keras/";

// A scratch folder per test process, made when first used and removed at exit (the death-test
// children of the other files' tests construct this too, and leave by _Exit: they make nothing).
class Scratch {
 public:
  Scratch() : root_(fs::temp_directory_path() / ("acts_keras_bad_" + acts::test::scratch_token())) {}
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string path(const std::string& name) const {
    fs::create_directories(root_);
    return (root_ / name).string();
  }

 private:
  fs::path root_;
};
const Scratch kScratch;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const std::string path = kScratch.path(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

// The message load_keras_model throws for `path` ("" and a test failure when it loads, or when
// it throws anything but acts::BadFile).
std::string refusal(const std::string& path, const acts::KerasReadOptions& o = {}) {
  try {
    const acts::KerasModel m = acts::load_keras_model(path, o);
    ADD_FAILURE() << path << " loaded (" << m.format << "), where it must be refused";
  } catch (const acts::BadFile& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": threw a " << typeid(e).name() << " instead of acts::BadFile: " << e.what();
  }
  return "";
}

// Refused in one line that names `named` (the file at fault) and holds every one of `words`.
void expect_refused_naming(const std::string& path, const std::string& named, std::initializer_list<std::string> words,
                           const acts::KerasReadOptions& o = {}) {
  const std::string msg = refusal(path, o);
  SCOPED_TRACE(path);
  EXPECT_NE(msg.find(named), std::string::npos) << "the message does not name " << named << ": " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "more than one line: " << msg;
  std::string rest = msg;  // the words must be the message's own, not parts of the file's name
  for (size_t at; !named.empty() && (at = rest.find(named)) != std::string::npos;) rest.erase(at, named.size());
  for (const std::string& w : words) EXPECT_NE(rest.find(w), std::string::npos) << "no '" << w << "' in: " << msg;
}

void expect_refused(const std::string& path, std::initializer_list<std::string> words,
                    const acts::KerasReadOptions& o = {}) {
  expect_refused_naming(path, path, words, o);
}

// k3.keras's entries, in order, with `edit` applied to its config.json.
std::vector<std::pair<std::string, std::string>> k3_entries(const std::function<void(json&)>& edit = nullptr) {
  const acts::ZipReader z(kFixtures + "k3.keras");
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& name : z.entries()) {
    std::string bytes = z.read(name);
    if (name == "config.json" && edit) {
      json cfg = json::parse(bytes);
      edit(cfg);
      bytes = cfg.dump();
    }
    out.emplace_back(name, bytes);
  }
  return out;
}

std::string keras_file(const std::string& name, const std::vector<std::pair<std::string, std::string>>& entries) {
  return write_bytes(name, acts::make_zip(entries, name));
}

json& layers_of(json& cfg) { return cfg["config"]["layers"]; }

// The index in config.json's layer list of the layer called `name`.
size_t layer_index(json& cfg, const std::string& name) {
  json& layers = layers_of(cfg);
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i]["config"].value("name", "") == name) return i;
  ADD_FAILURE() << "no layer " << name << " in k3's config";
  return 0;
}

acts::KerasReadOptions with_config(const std::string& path) {
  acts::KerasReadOptions o;
  o.config_json = path;
  return o;
}

}  // namespace

TEST(KerasBadFiles, TheFixturesThemselvesLoad) {  // so that every refusal below is the damage's
  EXPECT_NO_THROW(acts::load_keras_model(kFixtures + "k3.keras"));
  EXPECT_NO_THROW(acts::load_keras_model(kFixtures + "k2.h5"));
  EXPECT_NO_THROW(acts::load_keras_model(kFixtures + "k2_0_8.h5"));
  EXPECT_NO_THROW(acts::load_keras_model(kFixtures + "k3_legacy.h5"));
  EXPECT_NO_THROW(acts::load_keras_model(kFixtures + "k2_weights.h5", with_config(kFixtures + "k2.json")));
  EXPECT_NO_THROW(acts::load_keras_model(kFixtures + "k3.weights.h5", with_config(kFixtures + "k3.json")));
  EXPECT_NO_THROW(acts::load_keras_model(keras_file("rebuilt.keras", k3_entries([](json&) {}))));
}

TEST(KerasBadFiles, ATextFileIsNeitherHdf5NorZip) {
  expect_refused(write_bytes("notes.keras", "just some text\n"), {"not a Keras model file", "model.save()"});
  expect_refused(write_bytes("model.h5", "{\"class_name\": \"Sequential\"}"), {"not a Keras model file"});
}

TEST(KerasBadFiles, AnEmptyFileIsCalledEmpty) {
  expect_refused(write_bytes("empty.keras", ""), {"empty", "model.save()"});
}

TEST(KerasBadFiles, AFolderIsCalledAFolder) {
  const std::string dir = kScratch.path("a_folder.keras");
  fs::create_directories(dir);
  expect_refused(dir, {"folder", "Keras .h5 or .keras file"});
}

TEST(KerasBadFiles, AFifoIsRefusedWithoutBlocking) {
  const std::string fifo = kScratch.path("pipe.h5");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(acts::is_keras_model_file(fifo));
  expect_refused(fifo, {"FIFO", "not a regular file", "Keras .h5 or .keras file"});
}

TEST(KerasBadFiles, AMissingPathSaysSo) {
  expect_refused(kScratch.path("no_such_model.keras"), {"cannot open", "check the path"});
}

TEST(KerasBadFiles, TruncatedFilesAreRefusedAtEveryCut) {
  for (const char* name : {"k2.h5", "k3_legacy.h5", "k2_0_8.h5", "k3.keras"}) {
    const std::string whole = read_bytes(kFixtures + name);
    ASSERT_GT(whole.size(), 1000u) << name;
    const bool zip = std::string(name).find(".keras") != std::string::npos;
    for (size_t cut : {size_t(8), whole.size() / 4, whole.size() / 2, whole.size() * 3 / 4, whole.size() - 100,
                       whole.size() - 1}) {
      SCOPED_TRACE(std::string(name) + " cut at " + std::to_string(cut));
      const std::string path = write_bytes("cut_" + std::to_string(cut) + "_" + name, whole.substr(0, cut));
      expect_refused(path, {zip ? "not a readable zip archive" : "truncated or damaged", "Keras saved"});
    }
  }
}

// A stored .keras entry with one byte changed: zip's CRC-32 says so; the bytes must not be used.
TEST(KerasBadFiles, AByteFlippedKerasFileFailsItsCrc) {
  const std::string whole = read_bytes(kFixtures + "k3.keras");
  for (const auto& [entry, bytes] : k3_entries()) {
    const size_t at = whole.find(bytes);  // stored uncompressed, as Keras writes them
    ASSERT_NE(at, std::string::npos) << entry;
    for (size_t within : {bytes.size() / 4, bytes.size() / 2, bytes.size() - 5}) {
      std::string flipped = whole;
      flipped[at + within] = char(flipped[at + within] ^ 0x10);
      SCOPED_TRACE(entry + " byte " + std::to_string(within));
      const std::string path = write_bytes("flipped_" + entry + "_" + std::to_string(within) + ".keras", flipped);
      expect_refused(path, {entry, "damaged", "Keras saved"});
    }
  }
}

TEST(KerasBadFiles, AnHdf5FileKerasDidNotWrite) {
  const acts::H5File f = acts::H5File::create_in_memory("other.h5");
  f.root().create_group("measurements/run1");
  f.root().set_string_attr("instrument", "spectrometer");
  expect_refused(write_bytes("other.h5", f.image()), {"not one Keras wrote", "model.save()"});
}

TEST(KerasBadFiles, AnUnsupportedLayerIsNamedWithTheSupportedOnes) {
  const std::string path = keras_file("layernorm.keras", k3_entries([](json& cfg) {
    json bn = {{"module", "keras.layers"}, {"class_name", "LayerNormalization"},
               {"config", {{"name", "layer_normalization"}, {"axis", -1}, {"epsilon", 0.001}}},
               {"registered_name", nullptr}};
    json& layers = layers_of(cfg);
    layers.insert(layers.begin() + long(layer_index(cfg, "conv2d") + 1), bn);
  }));
  expect_refused(path, {"config.json", "layer_normalization", "'LayerNormalization' is not supported", "supported:",
                        "Conv2D", "MaxPooling2D", "Dense", "Flatten", "Dropout"});
}

// Single-chain Functional models are read (tests/core/model_spec_test.cpp); a Sequential config
// relabelled Functional has no input_layers, and two inputs are not a chain.
TEST(KerasBadFiles, AFunctionalModelThatIsNotOneChainIsRefused) {
  expect_refused(keras_file("functional.keras", k3_entries([](json& cfg) { cfg["class_name"] = "Functional"; })),
                 {"config.json", "a Functional model with 0 inputs", "single-chain"});
  // Two inputs, as keras.Model(inputs=[a, b], ...) saves them.
  expect_refused(keras_file("two_inputs.keras", k3_entries([](json& cfg) {
                   cfg["class_name"] = "Functional";
                   cfg["config"]["input_layers"] = json::array({json::array({"a", 0, 0}), json::array({"b", 0, 0})});
                 })),
                 {"a Functional model with 2 inputs", "single-chain"});
}

TEST(KerasBadFiles, WeightsOfAnotherArchitectureAreRefusedByShape) {
  json cfg = json::parse(read_bytes(kFixtures + "k3.json"));
  layers_of(cfg)[layer_index(cfg, "conv2d")]["config"]["filters"] = 6;
  const std::string other = write_bytes("k3_6_filters.json", cfg.dump());
  expect_refused(kFixtures + "k3.weights.h5", {"conv2d", "shape (3, 3, 3, 4)", "(3, 3, 3, 6)", "do not belong"},
                 with_config(other));
  // Keras 2 weights with a JSON whose Dense is wider.
  json k2 = json::parse(read_bytes(kFixtures + "k2.json"));
  json& layers = k2["config"].is_array() ? k2["config"] : k2["config"]["layers"];
  for (json& l : layers)
    if (l["class_name"] == "Dense") {
      l["config"]["units"] = l["config"]["units"].get<int>() + 3;
      break;
    }
  expect_refused(kFixtures + "k2_weights.h5", {"shape", "do not belong"},
                 with_config(write_bytes("k2_wider.json", k2.dump())));
}

TEST(KerasBadFiles, AMissingLayerGroupIsNamed) {
  // A .keras whose config has one Dense more than its weights.
  const std::string path = keras_file("extra_dense.keras", k3_entries([](json& cfg) {
    json extra = layers_of(cfg)[layer_index(cfg, "dense_1")];
    extra["config"]["name"] = "dense_2";
    layers_of(cfg).push_back(extra);
  }));
  expect_refused(path, {"model.weights.h5", "layers/dense_2/vars", "dense_2 (Dense)", "do not match"});
  // Keras 2 weights whose JSON names a layer the file has no group for.
  json k2 = json::parse(read_bytes(kFixtures + "k2.json"));
  json& layers = k2["config"].is_array() ? k2["config"] : k2["config"]["layers"];
  std::string renamed;
  for (json& l : layers)
    if (l["class_name"] == "Dense") {
      renamed = l["config"]["name"].get<std::string>() + "_renamed";
      l["config"]["name"] = renamed;
      break;
    }
  expect_refused(kFixtures + "k2_weights.h5", {"has no weights for layer " + renamed, "do not match"},
                 with_config(write_bytes("k2_renamed.json", k2.dump())));
}

TEST(KerasBadFiles, ShardedWeightsSayHowToSaveAgain) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (auto& [name, bytes] : k3_entries())
    if (name == "model.weights.h5") {
      entries.emplace_back("model.weights.json",
                           R"({"weight_map": {"layers/conv2d/vars/0": "model_00000.weights.h5"}})");
      entries.emplace_back("model_00000.weights.h5", bytes);
    } else {
      entries.emplace_back(name, bytes);
    }
  expect_refused(keras_file("sharded.keras", entries), {"sharded", "not supported", "max_shard_size"});
}

TEST(KerasBadFiles, ADamagedArchiveNamesTheEntry) {
  std::vector<std::pair<std::string, std::string>> no_config, bad_json;
  for (auto& [name, bytes] : k3_entries()) {
    if (name != "config.json") no_config.emplace_back(name, bytes);
    bad_json.emplace_back(name, name == "config.json" ? bytes.substr(0, bytes.size() / 2) : bytes);
  }
  expect_refused(keras_file("no_config.keras", no_config),
                 {"has no config.json", "not a Keras 3 .keras file", "give a .keras file Keras saved"});
  expect_refused(keras_file("half_config.keras", bad_json), {"config.json", "not valid JSON"});
  expect_refused(keras_file("plain.keras", {{"readme.txt", "hello"}}), {"has no config.json", "Keras saved"});
}

TEST(KerasBadFiles, AWeightsOnlyFileWithoutConfigAsksForIt) {
  for (const char* name : {"k3.weights.h5", "k2_weights.h5"})
    expect_refused(kFixtures + name, {"holds weights only", "--config MODEL.json", "model.to_json()"});
  const std::string missing = kScratch.path("no_such_config.json");
  expect_refused_naming(kFixtures + "k3.weights.h5", missing, {"cannot open", "--config"}, with_config(missing));
}

TEST(KerasBadFiles, ConfigForAFullModelFileIsRefused) {
  for (const char* name : {"k3.keras", "k2.h5", "k3_legacy.h5"})
    expect_refused(kFixtures + name, {"--config", "own architecture", "drop --config"},
                   with_config(kFixtures + "k3.json"));
}

TEST(KerasBadFiles, SavingUnderABadNameOrIntoAMissingFolderLeavesNothing) {
  const acts::Checkpoint c = acts::load_keras_model(kFixtures + "k3.keras").ckpt;
  const std::string dir = kScratch.path("save_into");
  fs::create_directories(dir);
  try {
    acts::save_keras_model(dir + "/model.txt", c);
    ADD_FAILURE() << "saved as .txt";
  } catch (const acts::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(dir + "/model.txt"), std::string::npos) << msg;
    EXPECT_NE(msg.find(".keras"), std::string::npos) << msg;
  }
  EXPECT_TRUE(fs::is_empty(dir)) << "something was written";

  const std::string missing = kScratch.path("no_such_folder");
  try {
    acts::save_keras_model(missing + "/model.keras", c);
    ADD_FAILURE() << "saved into a folder that does not exist";
  } catch (const acts::Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(missing));
  for (const auto& f : fs::directory_iterator(kScratch.path("")))
    EXPECT_EQ(f.path().filename().string().find(".tmp."), std::string::npos) << f.path();
}

TEST(KerasBadFiles, SavingOverAFolderOrUnderAFileLeavesThemAsTheyWere) {
  const acts::Checkpoint c = acts::load_keras_model(kFixtures + "k3.keras").ckpt;
  const std::string dir = kScratch.path("save_over");
  const std::string folder = dir + "/model.keras", file = dir + "/plain_file";
  fs::create_directories(folder);
  write_bytes("save_over/plain_file", "keep me");
  for (const std::string& target : {folder, file + "/model.keras"}) {
    SCOPED_TRACE(target);
    try {
      acts::save_keras_model(target, c);
      ADD_FAILURE() << "saved";
    } catch (const acts::Error& e) {
      EXPECT_NE(std::string(e.what()).find(target.substr(0, target.rfind('/'))), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(fs::is_directory(folder) && fs::is_empty(folder));
  EXPECT_EQ(read_bytes(file), "keep me");
  for (const auto& f : fs::directory_iterator(dir))
    EXPECT_EQ(f.path().filename().string().find(".tmp."), std::string::npos) << f.path();
}
