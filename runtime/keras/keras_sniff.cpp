// Which files are Keras' (HDF5 or zip signatures), in every build: one without HDF5 or libzip
// still recognises them, to refuse them saying what to install rather than misreading them as
// checkpoints.
#include <cstring>
#include <fstream>

#include "runtime/core/regular_file.h"
#include "runtime/keras/keras_file.h"

namespace acts {

bool is_keras_model_file(const std::string& path) {
  if (!special_file_kind(path).empty()) return false;  // a FIFO is not opened, let alone read
  std::ifstream in(path, std::ios::binary);
  char b[8] = {};
  in.read(b, sizeof b);
  const std::streamsize n = in.gcount();
  return (n == 8 && std::memcmp(b, "\x89HDF\r\n\x1a\n", 8) == 0) || (n >= 4 && std::memcmp(b, "PK\x03\x04", 4) == 0);
}

}  // namespace acts
