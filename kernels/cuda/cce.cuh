// Categorical cross-entropy of a softmax head from its logits on the GPU, as kernels/cpu/cce.h
// computes it (Keras' clip of p_t to [1e-7, 1 - 1e-7], double-precision math and sums): per-image
// loss from one class index per image (categorical and sparse categorical alike), correct
// predictions (argmax(z) == label, the first maximum winning) and dL/dz of the batch-mean loss.
// The loss sum and the correct count are ADDED to running sums on the device, as bce.cuh's.
#pragma once
#include <cuda_runtime_api.h>

namespace acts::gpu {

// z (n, classes), labels (n); dz (n, classes) written when not null; sums[0] += sum of losses,
// sums[1] += correct count. One block, one thread per image, reduced in a fixed order.
void softmax_ce_loss(const float* z, const float* labels, int n, int classes, float* dz, double* sums,
                     cudaStream_t stream);

}  // namespace acts::gpu
