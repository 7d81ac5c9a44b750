// A float32 .npy file written in pieces: the shape is known up front (N images x one layer's
// output), the data arrives chunk by chunk from the forward passes, so a dump of many images
// never holds a whole (N, H, W, C) array in memory. Atomic like write_npy(): until commit() the
// file does not exist under its name; destroyed without commit(), nothing is left behind.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "runtime/core/atomic_file.h"

namespace acts {

class NpyStream {
 public:
  NpyStream(const std::string& path, const std::vector<size_t>& shape);  // throws naming the file
  void append(const float* data, size_t count);                          // throws on more values than the shape holds
  void commit();                                                         // throws unless exactly the shape's count came
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  AtomicFile file_;
  size_t expected_ = 1, written_ = 0;
};

}  // namespace acts
