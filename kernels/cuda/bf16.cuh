// float32 <-> bfloat16 on the GPU, through CUDA's own conversion (__float2bfloat16_rn, round to
// nearest even), the GPU side of kernels/cpu/bf16.h: rounding in place, kept in float32 storage
// (see bf16.h for why a bf16 tensor can live in float32), and packing to / widening from the
// 2-byte tensors cuDNN's and cuBLAS' bf16 paths read and write. pack then widen is round_bf16;
// the tests hold all three to the CPU reference bit for bit.
#pragma once
#include <cstddef>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

namespace acts::gpu {

// y[i] = bf16(x[i]) (round to nearest even) over n elements; y may be x.
void round_bf16(const float* x, float* y, size_t n, cudaStream_t stream);
// y[i] = bf16(x[i]) over n elements, packed.
void pack_bf16(const float* x, __nv_bfloat16* y, size_t n, cudaStream_t stream);
// y[i] = x[i] as float32 (exact) over n elements.
void widen_bf16(const __nv_bfloat16* x, float* y, size_t n, cudaStream_t stream);

}  // namespace acts::gpu
