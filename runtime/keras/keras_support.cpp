// This build reads and writes Keras files (HDF5 and libzip were found).
#include "runtime/keras/keras_file.h"

namespace acts {
bool keras_files_supported() { return true; }
std::string keras_files_missing() { return ""; }
}  // namespace acts
