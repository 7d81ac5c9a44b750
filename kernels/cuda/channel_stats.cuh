// The per-channel sums of kernels/cpu/channel_stats.h on the GPU: a layer's output stays on the
// device and only 4 numbers per channel come back. Deterministic: each channel's rows are summed
// in a fixed order (the same on every run), in double.
#pragma once
#include <cstddef>

#include <cuda_runtime_api.h>

namespace acts::gpu {

// x: rows x channels floats (channels last); acc: 4 * channels doubles on the device,
// [sum | sum of squares | zeros | max], ADDED to (the maximum taken with what it holds).
void channel_sums(const float* x, size_t rows, int channels, double* acc, cudaStream_t stream);

}  // namespace acts::gpu
