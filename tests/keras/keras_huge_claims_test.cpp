// Files whose headers claim more than they hold: an HDF5 dataset of 2^32 floats takes a few
// hundred bytes when its storage was never written (HDF5 reads it as fill values), and a zip
// entry's size is a number in two headers. A reader that sizes its buffer from the header lets a
// tiny file take gigabytes. Each must be refused from the header, in one acts::BadFile line,
// inside an address-space limit far below what such a buffer needs (run in a child process:
// gtest's EXPECT_EXIT).
#include <sys/resource.h>
#include <unistd.h>

#include <hdf5.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/errors.h"
#include "runtime/keras/keras_file.h"
#include "tests/keras/refused_in_child.h"
#include "runtime/keras/zip_archive.h"

namespace fs = std::filesystem;

namespace {

const std::string kFixtures = std::string(ACTS_TEST_DATA) + "/keras/";

std::string scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("acts_keras_bad_hdf5_" + acts::test::scratch_token());
  fs::create_directories(dir);
  return (dir / name).string();
}

struct RemoveScratch {
  ~RemoveScratch() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("acts_keras_bad_hdf5_" + acts::test::scratch_token()), ec);
  }
} const kRemoveScratch;

// A float32 dataset of `dims` whose storage is never written (contiguous, allocated late): the
// file holds its header only. Intermediate groups are made.
void huge_dataset(hid_t where, const std::string& name, const std::vector<hsize_t>& dims) {
  const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hid_t ds = H5Dcreate2(where, name.c_str(), H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0) << name;
  H5Dclose(ds);
  H5Pclose(lcpl);
  H5Sclose(space);
}

void string_list_attr(hid_t where, const char* name, const std::vector<std::string>& values) {
  size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  std::vector<char> buf(values.size() * width, '\0');
  for (size_t i = 0; i < values.size(); ++i) values[i].copy(buf.data() + i * width, values[i].size());
  const hsize_t n = values.size();
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  H5Adelete(where, name);  // replaced when there
  const hid_t attr = H5Acreate2(where, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(attr, 0) << name;
  H5Awrite(attr, type, buf.data());
  H5Aclose(attr);
  H5Tclose(type);
  H5Sclose(space);
}

// Sets the uncompressed size of `entry` in a zip's local and central headers (the offsets of
// APPNOTE.TXT 4.3.7 and 4.3.12) to `size`.
void claim_size(std::string& zip, const std::string& entry, uint32_t size) {
  auto u16 = [&](size_t at) { return size_t(uint8_t(zip[at])) | size_t(uint8_t(zip[at + 1])) << 8; };
  int patched = 0;
  for (const auto& [sig, size_at, name_len_at, name_at] : {std::tuple{"PK\x03\x04", 22, 26, 30},
                                                           std::tuple{"PK\x01\x02", 24, 28, 46}})
    for (size_t at = zip.find(sig); at != std::string::npos; at = zip.find(sig, at + 4))
      if (zip.compare(at + size_t(name_at), u16(at + size_t(name_len_at)), entry) == 0) {
        for (int b = 0; b < 4; ++b) zip[at + size_t(size_at) + size_t(b)] = char(size >> (8 * b));
        ++patched;
      }
  ASSERT_EQ(patched, 2) << entry;
}

// Loads `path` in this (child) process with at most 2 GB of address space; exits 0 when refused
// by an acts::BadFile naming `word`, 1 with the message otherwise.
[[noreturn]] void load_within_2gb(const std::string& path, const std::string& config, const std::string& word) {
  const rlimit limit{rlim_t(2) << 30, rlim_t(2) << 30};
  setrlimit(RLIMIT_AS, &limit);
  acts::test::exit_refused(path, config, word);
}

}  // namespace

TEST(KerasBadHdf5, AWeightOf2To32FloatsIsRefusedByItsShapeBeforeAnyBuffer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the backends' thread pool may be running
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string path = scratch("huge_kernel.weights.h5");
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  huge_dataset(f, "layers/conv2d/vars/0", {65536, 65536});  // k3's conv2d kernel is (3, 3, 3, 4)
  huge_dataset(f, "layers/conv2d/vars/1", {4});
  H5Fclose(f);
  EXPECT_LT(fs::file_size(path), 100000u);
  EXPECT_EXIT(load_within_2gb(path, kFixtures + "k3.json", "(65536, 65536)"), ::testing::ExitedWithCode(0),
              "has shape \\(65536, 65536\\) but the model config makes it \\(3, 3, 3, 4\\)");
}

TEST(KerasBadHdf5, AnOptimizerTensorLargerThanTheModelIsRefusedBeforeAnyBuffer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string path = scratch("huge_optimizer.h5");
  fs::copy_file(kFixtures + "k2.h5", path, fs::copy_options::overwrite_existing);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Ldelete(f, "optimizer_weights", H5P_DEFAULT);  // k2.h5's own, if any
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  const hid_t og = H5Gcreate2(f, "optimizer_weights", lcpl, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(og, 0);
  huge_dataset(og, "rms/huge", {65536, 65536});
  string_list_attr(og, "weight_names", {"rms/huge"});
  H5Gclose(og);
  H5Pclose(lcpl);
  H5Fclose(f);
  EXPECT_EXIT(load_within_2gb(path, "", "optimizer_weights/rms/huge"), ::testing::ExitedWithCode(0),
              "4294967296 values");
}

TEST(KerasBadZip, AnEntryClaimingGigabytesIsRefusedBeforeAnyBuffer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const acts::ZipReader k3(kFixtures + "k3.keras");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& name : k3.entries()) entries.emplace_back(name, k3.read(name));
  std::string zip = acts::make_zip(entries, "k3");
  claim_size(zip, "model.weights.h5", 3000000000u);  // 3 GB, in a 57 KB file
  const std::string path = scratch("claims_3gb.keras");
  std::ofstream(path, std::ios::binary) << zip;
  EXPECT_EXIT(load_within_2gb(path, "", "model.weights.h5"), ::testing::ExitedWithCode(0),
              "model.weights.h5 claims 3000000000 bytes");
}
