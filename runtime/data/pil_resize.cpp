// Pillow-exact nearest-neighbour resize (see pil_resize.h).
#include "pil_resize.h"

namespace acts {

std::vector<int> pil_nearest_index(int src, int dst) {
  std::vector<int> idx(dst);
  const double step = double(src) / dst;  // Pillow: a[0] = (box width) / xsize
  double pos = step * 0.5;                // xo = a[2] + a[0] * 0.5, then xo += a[0]
  for (int i = 0; i < dst; ++i, pos += step) {
    const int v = pos < 0.0 ? -1 : int(pos);      // Pillow's COORD()
    idx[i] = v < 0 ? 0 : v >= src ? src - 1 : v;  // Pillow leaves such pixels unset; never reached
  }
  return idx;
}

void pil_nearest_resize(const uint8_t* src, int sh, int sw, size_t src_stride, bool bgr, uint8_t* dst, int dh, int dw) {
  const std::vector<int> xs = pil_nearest_index(sw, dw), ys = pil_nearest_index(sh, dh);
  const int r = bgr ? 2 : 0, b = bgr ? 0 : 2;
  for (int y = 0; y < dh; ++y) {
    const uint8_t* row = src + size_t(ys[y]) * src_stride;
    uint8_t* out = dst + size_t(y) * dw * 3;
    for (int x = 0; x < dw; ++x, out += 3) {
      const uint8_t* p = row + size_t(xs[x]) * 3;
      out[0] = p[r];
      out[1] = p[1];
      out[2] = p[b];
    }
  }
}

}  // namespace acts
