#include "npy_stream.h"

#include "runtime/core/errors.h"
#include "runtime/core/npy.h"

namespace acts {

NpyStream::NpyStream(const std::string& path, const std::vector<size_t>& shape) : path_(path), file_(path) {
  for (size_t d : shape) expected_ *= d;
  file_.write(npy_header("<f4", shape));
}

void NpyStream::append(const float* data, size_t count) {
  if (written_ + count > expected_)
    fail(path_, ": internal error: ", written_ + count, " values for an array of ", expected_);
  file_.write(data, count * sizeof(float));  // little-endian hosts only, as write_npy
  written_ += count;
}

void NpyStream::commit() {
  if (written_ != expected_) fail(path_, ": internal error: ", written_, " of ", expected_, " values written");
  file_.commit();
}

}  // namespace acts
