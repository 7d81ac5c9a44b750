// Builds without OpenCV: image files cannot be decoded, datasets come as x.npy / y.npy.
#include "dataset.h"
#include "runtime/core/errors.h"

namespace acts {

namespace {
[[noreturn]] void no_decoding(const std::string& path) {
  fail(path,
       ": this build has no image decoding (built without OpenCV); give the data as x.npy/y.npy "
       "(scripts/data/photos_to_npy.py makes them) or rebuild with OpenCV (-DACTS_WITH_OPENCV=ON)");
}
}  // namespace

Dataset load_directory(const std::string& dir, const LoadOptions&) { no_decoding(dir); }
std::vector<uint8_t> load_image(const std::string& path, const LoadOptions&) { no_decoding(path); }
bool have_image_io() { return false; }

}  // namespace acts
