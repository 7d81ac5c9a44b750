// CRC-32 (IEEE, as zlib's crc32) for checkpoint integrity. Written here rather than taken from
// zlib because the lent GPU machine has no zlib headers and the runtime must build there.
#pragma once
#include <cstddef>
#include <cstdint>

namespace acts {
uint32_t crc32(const void* data, size_t bytes, uint32_t crc = 0);
}
