// The per-image channel peaks of kernels/cpu/channel_peaks.h on the GPU: the layer's output stays
// on the device and two numbers per image and channel come back. The same result as the CPU,
// ties included (the first position wins), on every run.
#pragma once
#include <cstddef>

#include <cuda_runtime_api.h>

namespace acts::gpu {

// x: n * positions * channels floats (channels last); peak, where: n * channels each on the device.
void channel_peaks(const float* x, int n, size_t positions, int channels, float* peak, int* where,
                   cudaStream_t stream);
// The same through Thrust's reduce_by_key (channel_peaks_thrust.cu): the comparison the device
// script's bench makes. The backend calls channel_peaks().
void channel_peaks_thrust(const float* x, int n, size_t positions, int channels, float* peak, int* where,
                          cudaStream_t stream);

}  // namespace acts::gpu
