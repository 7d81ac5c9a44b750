// crc32 (checkpoint integrity) against the standard check value and a bit-at-a-time reference of
// the same polynomial, over every length and alignment that exercises the 8-byte fast path and
// its tail, and chained (crc of a + b == crc of b continuing crc of a), as zlib's crc32 behaves.
#include "runtime/core/crc32.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

uint32_t bitwise_crc32(const unsigned char* p, size_t n, uint32_t crc = 0) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(Crc32, StandardCheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(acts::crc32(s, 9), 0xCBF43926u);
  EXPECT_EQ(acts::crc32(s, 0), 0u);
}

TEST(Crc32, MatchesTheBitwiseReferenceAtEveryLengthAndAlignment) {
  std::mt19937 rng(3);
  std::vector<unsigned char> buf(1 << 16);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t offset = 0; offset < 8; ++offset)
    for (size_t n = 0; n < 80; ++n)
      ASSERT_EQ(acts::crc32(buf.data() + offset, n), bitwise_crc32(buf.data() + offset, n))
          << "offset " << offset << " length " << n;
  EXPECT_EQ(acts::crc32(buf.data() + 3, buf.size() - 3), bitwise_crc32(buf.data() + 3, buf.size() - 3));
}

TEST(Crc32, ChainsLikeZlib) {
  std::vector<unsigned char> buf(1000);
  std::mt19937 rng(4);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t split : {size_t(0), size_t(1), size_t(7), size_t(500), size_t(999)})
    EXPECT_EQ(acts::crc32(buf.data() + split, buf.size() - split, acts::crc32(buf.data(), split)),
              acts::crc32(buf.data(), buf.size()))
        << "split at " << split;
}

}  // namespace
