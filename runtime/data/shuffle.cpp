// numpy RandomState.permutation (legacy) reproduced (see shuffle.h).
#include "shuffle.h"

#include <random>
#include <utility>

#include "runtime/core/errors.h"

namespace acts {

namespace {

// numpy's random_interval(max) for max < 2^32: smallest all-ones mask >= max, redraw above max.
uint32_t random_interval(std::mt19937& mt, uint32_t max) {
  if (max == 0) return 0;
  uint32_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  uint32_t v;
  while ((v = uint32_t(mt()) & mask) > max) {
  }
  return v;
}

}  // namespace

std::vector<uint32_t> numpy_permutation(size_t n, uint32_t seed) {
  if (n > 0xFFFFFFFFull) fail("numpy_permutation: ", n, " items is more than this shuffle supports (2^32 - 1)");
  std::vector<uint32_t> a(n);
  for (size_t i = 0; i < n; ++i) a[i] = uint32_t(i);
  std::mt19937 mt(seed);
  for (size_t i = n > 0 ? n - 1 : 0; i >= 1; --i) std::swap(a[i], a[random_interval(mt, uint32_t(i))]);
  return a;
}

}  // namespace acts
