// Checkpoints: save -> load gives back exactly what was saved (and a backend given the loaded
// parameters computes the same outputs); every kind of damaged or foreign file is refused with
// an acts::Error naming it; the file on disk is only ever the old or the complete new one.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/core/checkpoint.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/core/crc32.h"
#include "runtime/core/errors.h"

using namespace acts;

namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "acts_ckpt_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // tutorial_model(48): 307,393 parameters, a 2.5 MB file.
  Checkpoint sample(int image_size = 48, bool with_opt = true) const {
    Checkpoint c;
    c.model = tutorial_model(image_size);
    const Graph g(c.model);
    c.params = init_params(g, 11);
    if (with_opt) {
      std::mt19937 rng(12);
      std::uniform_real_distribution<float> u(0.f, 1e-3f);
      c.opt_state.resize(g.param_count());
      for (float& a : c.opt_state) a = u(rng);
    }
    c.meta = {{"epoch", "3"}, {"step", "300"}, {"seed", "7"}, {"data", "/data/cats & dogs \"x\""}};
    return c;
  }

  std::string error_loading(const std::string& p) const {
    try {
      load_checkpoint(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
};

std::string bytes_of(const std::string& p) { return read_file(p); }

void put(const std::string& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// Rewrites the safetensors header of file p through `edit` (the length prefix follows it), as a
// user with a JSON editor or a script would; the tensor data is kept as it was.
void edit_header(const std::string& p, const std::function<void(nlohmann::json&)>& edit) {
  const std::string bytes = bytes_of(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  nlohmann::json h = nlohmann::json::parse(bytes.substr(8, n));
  edit(h);
  const std::string hs = h.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((hs.size() >> (8 * i)) & 0xff);
  put(p, out + hs + bytes.substr(8 + n));
}

}  // namespace

TEST_F(CheckpointTest, RoundTripIsExact) {
  const Checkpoint c = sample();
  save_checkpoint(path("c.safetensors"), c);
  const Checkpoint back = load_checkpoint(path("c.safetensors"));
  EXPECT_EQ(back.params, c.params);
  EXPECT_EQ(back.opt_state, c.opt_state);
  EXPECT_EQ(back.meta, c.meta);
  EXPECT_EQ(Graph(back.model).summary(), Graph(c.model).summary());
  EXPECT_EQ(to_keras_json(Graph(back.model).spec()), to_keras_json(Graph(c.model).spec()));
}

TEST_F(CheckpointTest, WithoutOptimizerStateLoadsEmptyState) {
  save_checkpoint(path("c.safetensors"), sample(48, false));
  EXPECT_TRUE(load_checkpoint(path("c.safetensors")).opt_state.empty());
}

TEST_F(CheckpointTest, LoadedParametersGiveIdenticalForwardOutputs) {
  const Graph g(tutorial_model(48));
  BackendOptions o;
  o.max_batch = 2;
  o.seed = 5;
  CpuBackend a(g, o);
  std::vector<float> x(2 * g.input_size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 97) / 97.f;
  std::vector<float> labels = {1, 0};
  Batch b;
  b.n = 2;
  b.inputs = x.data();
  b.labels = labels.data();
  a.train_step(b);  // trained parameters and a non-zero optimizer state
  Checkpoint c;
  c.model = g.spec();
  c.params = a.params();
  c.opt_state = a.opt_state();
  save_checkpoint(path("c.safetensors"), c);

  const Checkpoint back = load_checkpoint(path("c.safetensors"));
  check_same_architecture(back, g, path("c.safetensors"));
  o.seed = 99;  // different initial weights: everything must come from the file
  CpuBackend r(g, o);
  r.set_params(back.params);
  r.set_opt_state(back.opt_state);
  a.forward(b, false);
  r.forward(b, false);
  for (const Node& nd : g.nodes()) EXPECT_EQ(r.activation(nd.spec.name), a.activation(nd.spec.name)) << nd.spec.name;
  a.train_step(b);  // and the next step continues identically
  r.train_step(b);
  EXPECT_EQ(r.params(), a.params());
}

TEST_F(CheckpointTest, FlippedDataByteIsAChecksumError) {
  save_checkpoint(path("c.safetensors"), sample());
  std::string bytes = bytes_of(path("c.safetensors"));
  bytes[bytes.size() - 1000] ^= 0x10;  // inside the optimizer state
  put(path("c.safetensors"), bytes);
  const std::string e = error_loading(path("c.safetensors"));
  EXPECT_NE(e.find("checksum"), std::string::npos) << e;
  EXPECT_NE(e.find(path("c.safetensors")), std::string::npos) << e;
}

// The run metadata (epoch, step, history, the model JSON) is checksummed with the tensors: an
// edited "epoch" (resumed as "Epoch -4/2") or layer name is refused, naming the file.
TEST_F(CheckpointTest, EditedMetadataIsAChecksumError) {
  const std::vector<std::function<void(nlohmann::json&)>> edits = {
      [](nlohmann::json& h) { h["__metadata__"]["epoch"] = "-5"; },
      [](nlohmann::json& h) { h["__metadata__"]["seed"] = "8"; },
      [](nlohmann::json& h) { h["__metadata__"].erase("step"); },
      [](nlohmann::json& h) {
        std::string m = h["__metadata__"]["model_json"];
        m.replace(m.find("conv2d_1"), 8, "conv2d_9");
        h["__metadata__"]["model_json"] = m;
      },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    save_checkpoint(path("c.safetensors"), sample());
    edit_header(path("c.safetensors"), edits[i]);
    const std::string e = error_loading(path("c.safetensors"));
    EXPECT_EQ(e.find(path("c.safetensors") + ": damaged checkpoint (checksum mismatch: "), 0u) << i << ": " << e;
    EXPECT_NE(e.find("metadata"), std::string::npos) << i << ": " << e;
  }
}

// Checkpoints of format version 1 (before the checksum covered the metadata) still load: their
// checksum covers the tensor data only.
TEST_F(CheckpointTest, Version1CheckpointsStillLoad) {
  const Checkpoint c = sample();
  save_checkpoint(path("c.safetensors"), c);
  uint32_t crc = crc32(c.params.data(), 4 * c.params.size());
  crc = crc32(c.opt_state.data(), 4 * c.opt_state.size(), crc);
  edit_header(path("c.safetensors"), [&](nlohmann::json& h) {
    h["__metadata__"]["version"] = "1";
    h["__metadata__"]["crc32"] = std::to_string(crc);
  });
  const Checkpoint back = load_checkpoint(path("c.safetensors"));
  EXPECT_EQ(back.params, c.params);
  EXPECT_EQ(back.opt_state, c.opt_state);
  EXPECT_EQ(back.meta, c.meta);
}

TEST_F(CheckpointTest, TruncatedFilesAreRefused) {
  save_checkpoint(path("c.safetensors"), sample());
  const std::string bytes = bytes_of(path("c.safetensors"));
  for (size_t keep : {bytes.size() - 1, bytes.size() / 2, size_t(100), size_t(8), size_t(3), size_t(0)}) {
    put(path("t.safetensors"), bytes.substr(0, keep));
    const std::string e = error_loading(path("t.safetensors"));
    EXPECT_NE(e.find(path("t.safetensors")), std::string::npos) << "kept " << keep << " bytes: '" << e << "'";
    EXPECT_NE(e.find("damaged"), std::string::npos) << "kept " << keep << ": " << e;
  }
}

TEST_F(CheckpointTest, GarbageAndForeignFilesAreRefused) {
  std::mt19937 rng(3);
  std::string junk(5000, '\0');
  for (char& ch : junk) ch = char(rng());
  put(path("junk.safetensors"), junk);
  EXPECT_NE(error_loading(path("junk.safetensors")).find(path("junk.safetensors")), std::string::npos);

  // A valid safetensors file (as safetensors.numpy.save_file writes it) that is not ours.
  const std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string foreign(8, '\0');
  foreign[0] = char(header.size());
  foreign += header + std::string(4, '\0');
  put(path("foreign.safetensors"), foreign);
  const std::string e = error_loading(path("foreign.safetensors"));
  EXPECT_NE(e.find("not a checkpoint of this project"), std::string::npos) << e;

  EXPECT_NE(error_loading(path("missing.safetensors")).find(path("missing.safetensors")), std::string::npos);
}

TEST_F(CheckpointTest, OtherFormatVersionIsRefused) {
  save_checkpoint(path("c.safetensors"), sample());
  std::string bytes = bytes_of(path("c.safetensors"));
  const std::string v = "\"version\":\"" + std::to_string(kCheckpointVersion) + "\"";
  const size_t at = bytes.find(v);
  ASSERT_NE(at, std::string::npos);
  bytes[at + v.size() - 2] = '9';  // same length: the header stays well-formed
  put(path("c.safetensors"), bytes);
  const std::string e = error_loading(path("c.safetensors"));
  EXPECT_NE(e.find("version 9"), std::string::npos) << e;
}

// The header's model decides how much is read: a damaged or hostile model JSON (here a Dense
// layer of 2e9 units, 1 TB of parameters) must be refused against the file's size, not allocated.
TEST_F(CheckpointTest, HeaderModelLargerThanTheDataIsRefused) {
  save_checkpoint(path("c.safetensors"), sample(48, false));
  const std::string bytes = bytes_of(path("c.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  nlohmann::json h = nlohmann::json::parse(bytes.substr(8, n));
  std::string model = h["__metadata__"]["model_json"];
  const size_t at = model.find("\"units\":512");
  ASSERT_NE(at, std::string::npos) << model;
  model.replace(at, 11, "\"units\":2000000000");
  h["__metadata__"]["model_json"] = model;
  const std::string hs = h.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((hs.size() >> (8 * i)) & 0xff);
  put(path("c.safetensors"), out + hs + bytes.substr(8 + n));
  std::string e;
  try {
    load_checkpoint(path("c.safetensors"));
  } catch (const Error& err) {
    e = err.what();
  } catch (const std::exception& other) {
    e = std::string("not an acts::Error: ") + other.what();
  }
  EXPECT_NE(e.find("damaged"), std::string::npos) << "'" << e << "'";
  EXPECT_NE(e.find(path("c.safetensors")), std::string::npos) << e;
}

TEST_F(CheckpointTest, OtherArchitectureIsRefused) {
  save_checkpoint(path("c64.safetensors"), sample(64, false));
  const Checkpoint c = load_checkpoint(path("c64.safetensors"));
  EXPECT_NO_THROW(check_same_architecture(c, Graph(tutorial_model(64)), path("c64.safetensors")));
  try {
    check_same_architecture(c, Graph(tutorial_model(150)), path("c64.safetensors"));
    FAIL() << "a 64x64 checkpoint was accepted for a 150x150 model";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path("c64.safetensors")), std::string::npos) << m;
    EXPECT_NE(m.find("3453121"), std::string::npos) << m;  // the model's parameter count
  }
}

TEST_F(CheckpointTest, AbandonedWriteLeavesTheOldFile) {
  write_file_atomic(path("f"), "old contents");
  try {
    AtomicFile f(path("f"));
    f.write("new, but never finished");
    throw std::runtime_error("interrupted");  // unwinds before commit()
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(bytes_of(path("f")), "old contents");
  EXPECT_EQ(std::system(("test -z \"$(ls '" + dir_ + "' | grep -v '^f$')\"").c_str()), 0) << "temporary left behind";
}

TEST_F(CheckpointTest, DiskFullMidWriteLeavesTheOldCheckpoint) {
  const Checkpoint old = sample(48, false);
  save_checkpoint(path("c.safetensors"), old);
  // A file size limit of 1 MB makes the 2.5 MB write fail part-way (EFBIG), as a full disk would.
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 1 << 20;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string error;
  try {
    save_checkpoint(path("c.safetensors"), sample(48, true));
  } catch (const Error& e) {
    error = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(error.find(path("c.safetensors")), std::string::npos) << "'" << error << "'";
  const Checkpoint back = load_checkpoint(path("c.safetensors"));
  EXPECT_EQ(back.params, old.params);
  EXPECT_TRUE(back.opt_state.empty());
  EXPECT_EQ(std::system(("test -z \"$(ls '" + dir_ + "' | grep -v '^c.safetensors$')\"").c_str()), 0)
      << "temporary left behind";
}

TEST_F(CheckpointTest, UnwritableFolderIsNamed) {
  const std::string p = "/nonexistent-acts-folder/sub/c.safetensors";
  try {
    save_checkpoint(p, sample(48, false));
    FAIL() << "saved into a missing folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-acts-folder/sub"), std::string::npos) << e.what();
  }
  // A regular file where a folder should be.
  write_file_atomic(path("file"), "x");
  EXPECT_THROW(save_checkpoint(path("file") + "/c.safetensors", sample(48, false)), Error);
}

TEST_F(CheckpointTest, FilesThatAreNoSafetensorsSayWhatTheyAre) {
  // A Keras model JSON passed where a checkpoint belongs (dump_acts --model model.json).
  put(path("model.json"), to_keras_json(sample().model));
  std::string e = error_loading(path("model.json"));
  EXPECT_EQ(e.find(path("model.json") + ": not a safetensors checkpoint; it is JSON text"), 0u) << e;
  EXPECT_NE(e.find("train_gpu --model"), std::string::npos) << e;
  EXPECT_EQ(e.find("damaged"), std::string::npos) << e;
  // A photo.
  put(path("cat.jpg"), std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 20));
  e = error_loading(path("cat.jpg"));
  EXPECT_EQ(e.find(path("cat.jpg") + ": not a safetensors checkpoint; pass a .safetensors file"), 0u) << e;
  // A folder named like a checkpoint.
  ASSERT_EQ(mkdir(path("dir.safetensors").c_str(), 0755), 0);
  e = error_loading(path("dir.safetensors"));
  EXPECT_EQ(e, path("dir.safetensors") + ": is a folder, not a file");
  // A damaged one names checkpoints a run really has, and the commands that use them: a damaged
  // last.safetensors is replaced by best (or final) for --resume, which has no flag to pick one.
  save_checkpoint(path("last.safetensors"), sample());
  put(path("last.safetensors"), bytes_of(path("last.safetensors")).substr(0, 200));
  e = error_loading(path("last.safetensors"));
  EXPECT_NE(e.find("damaged checkpoint"), std::string::npos) << e;
  EXPECT_NE(e.find("dump_acts --model " + dir_ + "/best.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("cp " + dir_ + "/best.safetensors " + path("last.safetensors") + " && train_gpu --resume " + dir_),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find("epoch_N"), std::string::npos) << e;  // train_gpu writes no such file
  // A damaged best.safetensors points at the others.
  save_checkpoint(path("best.safetensors"), sample());
  put(path("best.safetensors"), bytes_of(path("best.safetensors")).substr(0, 200));
  e = error_loading(path("best.safetensors"));
  EXPECT_NE(e.find("dump_acts --model " + dir_ + "/final.safetensors"), std::string::npos) << e;
  EXPECT_EQ(e.find("cp "), std::string::npos) << e;
}

// Found by fuzzing (tests/fuzz/regressions/checkpoint): header values of the wrong type or range
// read out of bounds (data_offsets with one entry, or begin > end wrapping the length around) or
// let std:: and nlohmann exceptions escape. Each must be an acts::Error naming the file.
TEST_F(CheckpointTest, MalformedHeaderValuesAreRefused) {
  save_checkpoint(path("c.safetensors"), sample(48, false));
  const std::string bytes = bytes_of(path("c.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  auto error_with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json h = header;
    edit(h);
    const std::string hs = h.dump();
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((hs.size() >> (8 * i)) & 0xff);
    put(path("bad.safetensors"), out + hs + bytes.substr(8 + n));
    try {
      load_checkpoint(path("bad.safetensors"));
    } catch (const Error& err) {
      return std::string(err.what());
    } catch (const std::exception& other) {
      return std::string("not an acts::Error: ") + other.what();
    }
    return std::string("no error");
  };
  const std::string damaged = path("bad.safetensors") + ": damaged checkpoint";
  const std::string kernel = "conv2d_1/kernel";  // 3x3x3x32 floats = 3456 bytes at [0, 3456)
  // Format 2's checksum covers the header and would refuse these edits first: as version 1 files
  // (a checksum over the tensor data only) they reach the header's own checks.
  auto v1 = [](nlohmann::json& h) { h["__metadata__"]["version"] = "1"; };
  std::string e = error_with([&](nlohmann::json& h) { v1(h), h[kernel]["data_offsets"] = {3456}; });
  EXPECT_EQ(e.rfind(damaged + " (tensor conv2d_1/kernel has the wrong type, shape or offsets", 0), 0u) << e;
  e = error_with([&](nlohmann::json& h) { v1(h), h[kernel]["data_offsets"] = {uint64_t(0) - 3448, 8}; });
  EXPECT_EQ(e.rfind(damaged + " (tensor conv2d_1/kernel has the wrong type, shape or offsets", 0), 0u) << e;
  e = error_with([&](nlohmann::json& h) { v1(h), h[kernel]["shape"] = {1e30, 3, 3, 32}; });
  EXPECT_EQ(e.rfind(damaged + " (tensor conv2d_1/kernel has the wrong type, shape or offsets", 0), 0u) << e;
  e = error_with([&](nlohmann::json& h) { h[kernel]["data_offsets"] = {3456}; });
  EXPECT_EQ(e.rfind(damaged + " (checksum mismatch", 0), 0u) << e;
  e = error_with([&](nlohmann::json& h) { h["__metadata__"]["version"] = "99999999999"; });
  EXPECT_NE(e.find("checkpoint format version 99999999999 is not supported"), std::string::npos) << e;
  e = error_with([&](nlohmann::json& h) { h["__metadata__"]["version"] = 2; });
  EXPECT_EQ(e.rfind(damaged + " (malformed header", 0), 0u) << e;
  e = error_with([&](nlohmann::json& h) { h["__metadata__"] = "acts-checkpoint"; });
  EXPECT_NE(e.find("not a checkpoint of this project"), std::string::npos) << e;
  e = error_with([&](nlohmann::json& h) { h["__metadata__"]["format"] = 1; });
  EXPECT_NE(e.find("not a checkpoint of this project"), std::string::npos) << e;
}
