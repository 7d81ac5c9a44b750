// NPY files: write_npy -> read_npy round trips (float32 and uint8; 0-d, 1-d, 4-d), the header
// layout numpy expects (magic, version 1.0, 64-byte aligned, '\n'-terminated), files numpy wrote
// (the committed goldens), and errors naming the file for damaged input.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/core/atomic_file.h"
#include "runtime/core/errors.h"
#include "runtime/core/npy.h"

using namespace acts;

namespace {

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "acts_npy_" + std::to_string(getpid()) + "_" + name;
}

std::string error_reading(const std::string& p) {
  try {
    read_npy(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void put(const std::string& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

}  // namespace

TEST(Npy, FloatRoundTripAnyRank) {
  for (const std::vector<size_t>& shape : std::vector<std::vector<size_t>>{{}, {5}, {1}, {2, 3, 4, 5}, {3, 1, 2}}) {
    size_t n = 1;
    for (size_t d : shape) n *= d;
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = float(i) * -0.37f + 1e-3f;
    const std::string p = tmp("f.npy");
    write_npy(p, v.data(), shape);
    const NpyArray a = read_npy(p);
    EXPECT_EQ(a.dtype, "<f4");
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.to_float(), v) << "rank " << shape.size();
    std::remove(p.c_str());
  }
}

TEST(Npy, Uint8RoundTrip) {
  for (const std::vector<size_t>& shape : std::vector<std::vector<size_t>>{{}, {7}, {2, 3, 4, 3}}) {
    size_t n = 1;
    for (size_t d : shape) n *= d;
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 53 + 200);
    const std::string p = tmp("u.npy");
    write_npy(p, v.data(), shape);
    const NpyArray a = read_npy(p);
    EXPECT_EQ(a.dtype, "|u1");
    EXPECT_EQ(a.shape, shape);
    ASSERT_EQ(a.count(), n);
    EXPECT_EQ(std::vector<uint8_t>(a.u8(), a.u8() + n), v);
    EXPECT_EQ(a.to_float()[n - 1], float(v[n - 1]));
    std::remove(p.c_str());
  }
}

TEST(Npy, HeaderIsVersion1And64ByteAligned) {
  for (const std::vector<size_t>& shape : std::vector<std::vector<size_t>>{{}, {3}, {20, 148, 7, 3}}) {
    const std::string p = tmp("h.npy");
    size_t n = 1;
    for (size_t d : shape) n *= d;
    const std::vector<float> v(n, 1.f);
    write_npy(p, v.data(), shape);
    const std::string b = read_file(p);
    ASSERT_GE(b.size(), 10u);
    EXPECT_EQ(b.substr(0, 6), "\x93NUMPY");
    EXPECT_EQ(b[6], 1);
    EXPECT_EQ(b[7], 0);
    const size_t hlen = uint8_t(b[8]) | (size_t(uint8_t(b[9])) << 8);
    EXPECT_EQ((10 + hlen) % 64, 0u) << "data must start 64-byte aligned";
    EXPECT_EQ(b[10 + hlen - 1], '\n');
    EXPECT_EQ(b.size(), 10 + hlen + 4 * n);
    const std::string dict = b.substr(10, hlen);
    EXPECT_NE(dict.find("'descr': '<f4'"), std::string::npos) << dict;
    EXPECT_NE(dict.find("'fortran_order': False"), std::string::npos) << dict;
    // A Python tuple literal (numpy parses the dict with ast.literal_eval).
    const std::string want_shape = shape.empty() ? "()" : shape.size() == 1 ? "(3,)" : "(20,148,7,3)";
    EXPECT_NE(dict.find("'shape': " + want_shape), std::string::npos)
        << dict;
    std::remove(p.c_str());
  }
}

TEST(Npy, ReadsWhatNumpyWrote) {
  // The goldens were written by numpy.save (scripts/reference/make_goldens.py: float32 and int32,
  // scripts/reference/make_data_golden.py: uint8).
  const std::string dir = std::string(ACTS_TEST_DATA) + "/golden/";
  const NpyArray f = read_npy(dir + "forward150_dense_1.npy");
  EXPECT_EQ(f.dtype, "<f4");
  EXPECT_EQ(f.shape, (std::vector<size_t>{512}));
  const NpyArray i = read_npy(dir + "train48_illcond_dense_1__kernel.npy");  // flat indices
  EXPECT_EQ(i.dtype, "<i4");
  ASSERT_EQ(i.shape.size(), 1u);
  EXPECT_GT(i.count(), 0u);
  for (float k : i.to_float()) EXPECT_LT(k, 128 * 512);
  const NpyArray u = read_npy(std::string(ACTS_TEST_DATA) + "/data_golden/augment_in.npy");
  EXPECT_EQ(u.dtype, "|u1");
  EXPECT_EQ(u.shape, (std::vector<size_t>{13, 17, 3}));
}

TEST(Npy, DamagedFilesAreRefusedNamingTheFile) {
  const std::string p = tmp("d.npy");
  const std::vector<float> v(100, 2.f);
  write_npy(p, v.data(), {10, 10});
  const std::string good = read_file(p);

  put(p, good.substr(0, good.size() - 1));
  std::string e = error_reading(p);
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_NE(e.find(p), std::string::npos) << e;

  put(p, good.substr(0, 40));  // inside the header
  e = error_reading(p);
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;

  put(p, "PK\x03\x04 this is a zip, not an npy file");
  EXPECT_NE(error_reading(p).find("not an NPY file"), std::string::npos);

  std::string big_endian = good;
  big_endian.replace(big_endian.find("<f4"), 3, ">f4");
  put(p, big_endian);
  EXPECT_NE(error_reading(p).find(">f4"), std::string::npos) << error_reading(p);

  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  put(p, fortran);
  EXPECT_NE(error_reading(p).find("Fortran"), std::string::npos) << error_reading(p);

  std::remove(p.c_str());
  EXPECT_NE(error_reading(p).find(p), std::string::npos);
}

// A damaged header must not make the reader allocate (or wrap around to) what the file does
// not hold: terabyte shapes and shapes whose element count overflows 64 bits.
TEST(Npy, ImpossibleShapesAreRefusedBeforeAllocating) {
  const std::string p = tmp("s.npy");
  const std::vector<float> v(4, 1.f);
  write_npy(p, v.data(), {4});
  const std::string good = read_file(p);
  for (const std::string& shape : {std::string("(1000000000000,)"), std::string("(4294967296,4294967296,16)"),
                                   std::string("(4294967296,4294967297)")}) {
    std::string bad = good;
    const size_t at = bad.find("(4,)");
    bad.replace(at, 4, shape);
    bad.erase(bad.find("}") + 1, shape.size() - 4);  // keep the header length: eat padding
    put(p, bad);
    std::string e;
    try {
      read_npy(p);
    } catch (const Error& err) {
      e = err.what();
    } catch (const std::exception& other) {
      e = std::string("not an acts::Error: ") + other.what();
    }
    EXPECT_NE(e.find(p), std::string::npos) << shape << ": '" << e << "'";
    EXPECT_EQ(e.find("not an acts::Error"), std::string::npos) << e;
  }
  std::remove(p.c_str());
}

// Run by the ctest npy_readable_by_numpy, which then has numpy check the files
// (scripts/data/check_npy.py): values i / 120 in [0, 1), sum 59.5; uint8 i % 256; a 0-d 2.5.
TEST(Npy, WriteFilesForTheNumpyCheck) {
  const char* out = std::getenv("ACTS_NPY_OUT");
  if (!out) GTEST_SKIP() << "only run by the ctest npy_readable_by_numpy (ACTS_NPY_OUT names a folder)";
  std::vector<float> f(120);
  for (size_t i = 0; i < f.size(); ++i) f[i] = float(i) / 120.f;
  write_npy(std::string(out) + "/f4_2x3x4x5.npy", f.data(), {2, 3, 4, 5});
  std::vector<uint8_t> u(300);
  for (size_t i = 0; i < u.size(); ++i) u[i] = uint8_t(i % 256);
  write_npy(std::string(out) + "/u1_3x10x10.npy", u.data(), {3, 10, 10});
  const float scalar = 2.5f;
  write_npy(std::string(out) + "/f4_0d.npy", &scalar, {});
}

TEST(Npy, WriteIntoMissingFolderIsAnError) {
  const float v = 1.f;
  EXPECT_THROW(write_npy("/nonexistent-acts-folder/x.npy", &v, {}), Error);
}

// Found while writing the fuzz harness (tests/fuzz/regressions/npy): std::regex recursed once per
// header character, so a long descr or shape (the header may hold 1 MiB) overflowed the stack.
// A damaged header of any allowed length is an acts::Error naming the file, or is read.
TEST(Npy, LongHeadersDoNotOverflowTheStack) {
  const std::string p = tmp("long.npy");
  for (const std::string& dict : {"{'descr': '" + std::string(1000000, 'f') + "', 'shape': (1,), }",
                                  "{'descr': '<f4', 'shape': (" + std::string(1000000, ' ') + "1), }",
                                  "{'descr': '|u1', 'shape': (1,), 'pad': '" + std::string(1000000, 'x') + "'}"}) {
    std::string bytes = "\x93NUMPY";
    bytes += char(2);
    bytes += char(0);
    for (int i = 0; i < 4; ++i) bytes += char((dict.size() >> (8 * i)) & 0xff);
    put(p, bytes + dict + std::string(4, '\0'));
    const std::string e = error_reading(p);
    if (dict[11] == 'f') EXPECT_NE(e.find("dtype 'fff"), std::string::npos) << e.substr(0, 200);
    else EXPECT_EQ(e, "") << e.substr(0, 200);
  }
  std::remove(p.c_str());
}
