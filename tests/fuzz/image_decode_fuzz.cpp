// Fuzz target: the decoding entry (decode_bytes: header checks, OpenCV's imdecode, the resize).
// The first byte picks the options (interpolation, target size), the rest is the file. A
// returned reason (the file is skipped) and acts::Error (an image over the size limit) are the
// expected answers to bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "fuzz_check.h"
#include "image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kInterp[] = {"nearest", "bilinear", "area"};
  acts::LoadOptions o;
  o.interpolation = kInterp[data[0] % 3];
  o.height = o.width = 1 + (data[0] / 3) % 32;
  std::vector<uint8_t> out(size_t(o.height) * o.width * 3);
  try {
    (void)acts::decode_bytes(data + 1, size - 1, o, out.data());
  } catch (const acts::Error&) {
  }
  return 0;
}
