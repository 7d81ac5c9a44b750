// Bias gradient on the GPU: column sums of dy (rows, cols) row-major, i.e. db[c] = sum over the
// batch and every pixel of dy[..., c], for Conv2D (rows = N*OH*OW) and Dense (rows = N).
// Two passes with a fixed reduction order (no atomics), so the result is deterministic.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace acts::gpu {

// Floats of scratch bias_grad() needs for this shape.
size_t bias_grad_scratch_floats(size_t rows, int cols);
// db (cols) is overwritten. scratch: at least bias_grad_scratch_floats(rows, cols) floats.
void bias_grad(const float* dy, size_t rows, int cols, float* db, float* scratch, size_t scratch_floats,
               cudaStream_t stream);

}  // namespace acts::gpu
