// Batch assembly on the GPU from a dataset kept in device memory (Backend::keep_images): out
// row i = set row rows[i], byte for byte, so a training step uploads n row numbers instead of
// n images. The CPU equivalent is the host gather BatchIterator does (a memcpy per row).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace acts::gpu {

// set (set_rows, row_bytes), rows (n) on the device, each < set_rows (checked by the caller)
// -> out (n, row_bytes).
void gather_rows(const uint8_t* set, const uint32_t* rows, int n, size_t row_bytes, uint8_t* out, cudaStream_t stream);

}  // namespace acts::gpu
