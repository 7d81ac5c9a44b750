// One image file -> (height, width, 3) RGB uint8 as keras_preprocessing's load_img gives it
// (internal to acts_data; the implementation needs OpenCV).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dataset.h"

namespace acts {

// Throws acts::Error for options that cannot work (size, interpolation name).
void check_load_options(const LoadOptions& o);

// Decodes `path` into out (o.height * o.width * 3 bytes). Returns "" on success, else why the
// file is skipped (empty, truncated, not an image...). Throws acts::Error when the image is
// larger than kMaxImageSide on a side: that is a mistake to fix, not a file to skip.
std::string decode_file(const std::string& path, const LoadOptions& o, uint8_t* out);
// decode_file on the file's bytes already in memory; `path` names it in error messages.
std::string decode_bytes(const std::vector<uint8_t>& bytes, const std::string& path, const LoadOptions& o,
                         uint8_t* out);

}  // namespace acts
