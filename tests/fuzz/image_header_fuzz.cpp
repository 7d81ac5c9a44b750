// Fuzz target: image header sniffing (sniff_image_size: PNG, JPEG, BMP, PNM, TIFF) and the JPEG
// marker walk (jpeg_end), which run on untrusted files before any decoder. They never throw:
// any exception, crash or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const acts::ImageSize s = acts::sniff_image_size(data, size);
  FUZZ_CHECK(s.known || (s.width == 0 && s.height == 0));
  const acts::JpegEnd e = acts::jpeg_end(data, size);
  FUZZ_CHECK(e == acts::JpegEnd::NotJpeg || (size >= 3 && data[0] == 0xFF && data[1] == 0xD8));
  return 0;
}
