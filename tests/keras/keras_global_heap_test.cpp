// An HDF5 global heap (where variable-length strings live: h5py writes Keras 3's attributes so)
// whose free-space object has size 0: HDF5 1.10's heap reader advances by the object's size and
// loops for ever on it (found by tests/fuzz/keras_file_fuzz.cpp; the input is kept in
// tests/fuzz/regressions/keras_file). Refused in one acts::BadFile line, before HDF5 reads it.
// The load runs in a child process; a hang is failed by ctest's per-test timeout, not by a clock
// here.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "runtime/core/errors.h"
#include "runtime/keras/keras_file.h"
#include "tests/keras/refused_in_child.h"
#include "runtime/keras/zip_archive.h"

namespace fs = std::filesystem;

namespace {

const std::string kFixtures = std::string(ACTS_TEST_DATA) + "/keras/";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

uint64_t u64(const std::string& b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | uint8_t(b[at + size_t(i)]);
  return v;
}

// Sets the size of the free-space object (index 0) of the file's first global heap collection
// to 0. A collection: "GCOL", version, 3 reserved, its size (8 bytes), then objects of a 16-byte
// header (index 2, references 2, reserved 4, size 8) and their data padded to 8 bytes.
void zero_the_free_space(std::string& h5) {
  const size_t gcol = h5.find("GCOL");
  ASSERT_NE(gcol, std::string::npos);
  const size_t end = gcol + size_t(u64(h5, gcol + 8));
  for (size_t p = gcol + 16; p + 16 <= end;) {
    const unsigned idx = uint8_t(h5[p]) | unsigned(uint8_t(h5[p + 1])) << 8;
    const uint64_t size = u64(h5, p + 8);
    if (idx == 0) {
      for (int i = 0; i < 8; ++i) h5[p + 8 + size_t(i)] = 0;
      return;
    }
    p += 16 + size_t((size + 7) / 8 * 8);
  }
  FAIL() << "no free-space object in the first collection";
}

std::string scratch(const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::temp_directory_path() / ("acts_keras_heap_" + acts::test::scratch_token());
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

struct RemoveScratch {
  ~RemoveScratch() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("acts_keras_heap_" + acts::test::scratch_token()), ec);
  }
} const kRemoveScratch;

[[noreturn]] void load_refused(const std::string& path, const std::string& config) {
  acts::test::exit_refused(path, config, "global heap");
}

}  // namespace

TEST(KerasGlobalHeap, AFreeSpaceObjectOfSize0IsRefusedNotLoopedOn) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* name : {"k2.h5", "k3_legacy.h5", "k3.weights.h5"}) {
    SCOPED_TRACE(name);
    std::string h5 = read_bytes(kFixtures + name);
    zero_the_free_space(h5);
    const std::string config = std::string(name) == "k3.weights.h5" ? kFixtures + "k3.json" : "";
    EXPECT_EXIT(load_refused(scratch(std::string("heap0_") + name, h5), config), ::testing::ExitedWithCode(0),
                "global heap");
  }
}

TEST(KerasGlobalHeap, InsideAKerasArchiveToo) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const acts::ZipReader k3(kFixtures + "k3.keras");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& name : k3.entries()) {
    entries.emplace_back(name, k3.read(name));
    if (name == "model.weights.h5") zero_the_free_space(entries.back().second);
  }
  EXPECT_EXIT(load_refused(scratch("heap0.keras", acts::make_zip(entries, "heap0.keras")), ""),
              ::testing::ExitedWithCode(0), "global heap");
}
