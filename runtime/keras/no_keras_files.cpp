// Builds without HDF5 or libzip: every Keras file is refused in one line saying what to install,
// and nothing else of the product changes (safetensors checkpoints and model JSON still work).
#include "runtime/keras/keras_file.h"

#include "runtime/core/errors.h"

namespace acts {

bool keras_files_supported() { return false; }
std::string keras_files_missing() { return ACTS_KERAS_MISSING; }

KerasModel load_keras_model(const std::string& path, const KerasReadOptions&) {
  throw BadFile(path + ": this build reads no Keras files: " + keras_files_missing());
}

void save_keras_model(const std::string& path, const Checkpoint&) {
  fail(path, ": this build writes no Keras files: ", keras_files_missing());
}

}  // namespace acts
