// Pillow's NEAREST resize, pixel for pixel (OpenCV-free). Pillow (ImagingScaleAffine) walks the
// source in double steps of src/dst starting at half a step and truncates; the rounding of that
// running sum decides ties, so no closed formula (nor OpenCV's INTER_NEAREST_EXACT, which
// differs for 200 -> 150) reproduces it: we repeat the same arithmetic.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace acts {

// Source column (or row) that Pillow's NEAREST resize samples for each of the dst outputs.
std::vector<int> pil_nearest_index(int src, int dst);

// (sh, sw, 3) interleaved pixels with a row stride of `src_stride` bytes -> (dh, dw, 3) RGB.
// bgr: the source is OpenCV's BGR order and is swapped to RGB on the way.
void pil_nearest_resize(const uint8_t* src, int sh, int sw, size_t src_stride, bool bgr, uint8_t* dst, int dh, int dw);

}  // namespace acts
