// Rounding float32 to bfloat16 on the GPU, kept in float32 storage: the GPU side of
// kernels/cpu/bf16.h (see there for why a bf16 tensor can live in float32). It goes through CUDA's
// own conversion, __float2bfloat16_rn, what a bf16 tensor-core path's casts do; the tests hold it
// to the CPU reference bit for bit.
#pragma once
#include <cstddef>

#include <cuda_runtime_api.h>

namespace acts::gpu {

// y[i] = bf16(x[i]) (round to nearest even) over n elements; y may be x.
void round_bf16(const float* x, float* y, size_t n, cudaStream_t stream);

}  // namespace acts::gpu
