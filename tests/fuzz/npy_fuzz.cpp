// Fuzz target: an NPY file in memory (read_npy on a stream): magic, version, header length,
// the header dict (descr, fortran_order, shape) and the data size. acts::Error is the expected
// answer to bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "runtime/core/errors.h"
#include "fuzz_check.h"
#include "runtime/core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size), std::ios::binary);
  try {
    const acts::NpyArray a = acts::read_npy(in, "fuzz.npy");
    FUZZ_CHECK(a.data.size() <= size);
    const std::vector<float> v = a.to_float();
    FUZZ_CHECK(v.size() == a.count());
    if (a.dtype == "|u1" || a.dtype == "<u1") (void)a.u8();
  } catch (const acts::Error&) {
  }
  return 0;
}
