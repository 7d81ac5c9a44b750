// Image facts read from a file's first bytes, without decoding (OpenCV-free): the pixel size,
// so that absurdly large images are refused before any memory is spent on them, and whether a
// JPEG's entropy-coded data reaches its end marker (libjpeg silently pads a truncated file
// with grey; PIL refuses it, so we skip it as PIL-based Keras would fail on it).
#pragma once
#include <cstddef>
#include <cstdint>

namespace acts {

struct ImageSize {
  bool known = false;  // false: not a format we parse, or a damaged header (then not decoded)
  long long width = 0, height = 0;
};

// PNG, JPEG, BMP, PNM (ppm/pgm/pbm) and TIFF headers.
ImageSize sniff_image_size(const uint8_t* data, size_t n);

enum class JpegEnd { Complete, Truncated, NotJpeg, Unparsed };
// Walks the JPEG marker structure: Truncated when the data ends before the EOI marker,
// Unparsed when the structure is not what we expect (the decoder then decides).
JpegEnd jpeg_end(const uint8_t* data, size_t n);

// Walks a PNG's chunks, checking each one's CRC-32: libpng prints its own "libpng error: IDAT:
// CRC error" line on stderr for a damaged file (through OpenCV, which gives it no error handler),
// so such files are refused here first, with one line of ours. `bad_chunk` gets the chunk type of
// a Damaged result.
enum class PngCheck { Complete, Truncated, Damaged, NotPng };
PngCheck png_check(const uint8_t* data, size_t n, char bad_chunk[5]);

}  // namespace acts
