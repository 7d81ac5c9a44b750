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
// file is skipped (empty, truncated, not an image, larger than kMaxImageSide on a side, a FIFO
// or a device: never opened so that it could block).
std::string decode_file(const std::string& path, const LoadOptions& o, uint8_t* out);
// decode_file on the file's n bytes already in memory.
std::string decode_bytes(const uint8_t* data, size_t n, const LoadOptions& o, uint8_t* out);

}  // namespace acts
