// numpy's legacy shuffle, bit for bit (OpenCV-free): np.random.seed(s); np.random.permutation(n)
// is what keras_preprocessing's Iterator draws each data epoch, so the same seed gives the same
// order as Keras. MT19937 (std::mt19937 seeds exactly as numpy's init_genrand) + Fisher-Yates with
// numpy's masked rejection sampling (random_interval).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace acts {

std::vector<uint32_t> numpy_permutation(size_t n, uint32_t seed);

}  // namespace acts
