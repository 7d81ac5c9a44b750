// Binary cross-entropy from the final logits on the GPU, as kernels/cpu/bce.h computes it (Keras'
// clip of p to [1e-7, 1 - 1e-7] expressed on the logit, double-precision sums): per-sample loss,
// correct predictions (p > 0.5 agrees with label > 0.5) and dL/dz of the batch-mean loss.
// The loss sum and the correct count are ADDED to running sums that stay on the device, so a
// training step never waits for the host; the backend copies them back in take_metrics().
#pragma once
#include <cuda_runtime_api.h>

namespace acts::gpu {

// z, y (n); dz (n) written when not null; sums[0] += sum of losses, sums[1] += correct count.
// One block reduces in a fixed order, so the sums are deterministic.
void bce_loss(const float* z, const float* y, int n, float* dz, double* sums, cudaStream_t stream);

}  // namespace acts::gpu
