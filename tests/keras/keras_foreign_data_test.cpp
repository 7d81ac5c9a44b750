// HDF5 files that point outside themselves: an external link (a group or dataset that lives in
// another file), a dataset whose raw data is stored in an external file. Keras writes neither;
// following them would read whatever file the link names as weights, and block for ever on a
// FIFO. Each must be refused in one acts::BadFile line without opening the other file. The load
// runs in a child process (gtest's EXPECT_EXIT); a hang is failed by ctest's per-test timeout,
// not by a clock here.
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/errors.h"
#include "runtime/keras/keras_file.h"
#include "tests/keras/refused_in_child.h"

namespace fs = std::filesystem;

namespace {

const std::string kFixtures = std::string(ACTS_TEST_DATA) + "/keras/";

const fs::path kDir = fs::temp_directory_path() / ("acts_keras_foreign_" + acts::test::scratch_token());
struct RemoveDir {
  ~RemoveDir() {
    std::error_code ec;
    fs::remove_all(kDir, ec);
  }
} const kRemoveDir;

std::string scratch(const std::string& name) {
  fs::create_directories(kDir);
  return (kDir / name).string();
}

// A FIFO nothing writes to: opening it for reading blocks for ever.
std::string fifo() {
  const std::string path = scratch("nobody_writes.fifo");
  if (!fs::exists(path)) mkfifo(path.c_str(), 0600);
  return path;
}

// A float32 dataset of `dims` holding zeros, or, with `external`, stored in that file.
void dataset(hid_t where, const std::string& name, const std::vector<hsize_t>& dims, const std::string& external = "") {
  const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  if (!external.empty()) H5Pset_external(dcpl, external.c_str(), 0, n * sizeof(float));
  const hid_t ds = H5Dcreate2(where, name.c_str(), H5T_IEEE_F32LE, space, lcpl, dcpl, H5P_DEFAULT);
  ASSERT_GE(ds, 0) << name;
  if (external.empty()) {
    const std::vector<float> zeros(n, 0.f);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
  }
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  H5Sclose(space);
}

// k3's weights in Keras 3's layout (k3.json's architecture); conv2d's kernel stored in `external`.
std::string k3_weights_with_external_kernel(const std::string& name, const std::string& external) {
  const std::string path = scratch(name);
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  dataset(f, "layers/conv2d/vars/0", {3, 3, 3, 4}, external);
  dataset(f, "layers/conv2d/vars/1", {4});
  dataset(f, "layers/conv2d_1/vars/0", {3, 3, 4, 8});
  dataset(f, "layers/conv2d_1/vars/1", {8});
  dataset(f, "layers/dense/vars/0", {128, 16});
  dataset(f, "layers/dense/vars/1", {16});
  dataset(f, "layers/dense_1/vars/0", {16, 1});
  dataset(f, "layers/dense_1/vars/1", {1});
  H5Fclose(f);
  return path;
}

// Loads `path` in this (child) process and exits 0 when it is refused by
// an acts::BadFile naming the file and holding `word`, 1 otherwise (the message on stderr).
[[noreturn]] void load_refused(const std::string& path, const std::string& config, const std::string& word) {
  acts::test::exit_refused(path, config, word);
}

}  // namespace

TEST(KerasForeignData, TheSameFileWithItsOwnDataLoads) {  // so that the refusals below are the links'
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  acts::KerasReadOptions o;
  o.config_json = kFixtures + "k3.json";
  EXPECT_NO_THROW(acts::load_keras_model(k3_weights_with_external_kernel("own.weights.h5", ""), o));
}

TEST(KerasForeignData, AnExternalLinkIsRefusedWithoutOpeningItsFile) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // k2.h5 with its first layer's weight group replaced by a link into a FIFO.
  const std::string path = scratch("external_link.h5");
  fs::copy_file(kFixtures + "k2.h5", path, fs::copy_options::overwrite_existing);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Ldelete(f, "model_weights/conv2d", H5P_DEFAULT), 0);
  ASSERT_GE(H5Lcreate_external(fifo().c_str(), "/conv2d", f, "model_weights/conv2d", H5P_DEFAULT, H5P_DEFAULT), 0);
  H5Fclose(f);
  EXPECT_EXIT(load_refused(path, "", "model_weights/conv2d"), ::testing::ExitedWithCode(0), "another file");
}

TEST(KerasForeignData, DataStoredInAnExternalFileIsRefusedWithoutOpeningIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string path = k3_weights_with_external_kernel("external_storage.weights.h5", fifo());
  EXPECT_EXIT(load_refused(path, kFixtures + "k3.json", "layers/conv2d/vars/0"), ::testing::ExitedWithCode(0),
              "another file");
}
