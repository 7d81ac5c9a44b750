// The extra bottom row / right column of TensorFlow's 'same' padding, for cuDNN: an odd total
// padding puts one more zero after the input than before it, which cuDNN's symmetric padding
// cannot express. Conv2D's CudaOp copies the input into a buffer one row and/or column larger,
// with zeros there, and gives cuDNN the smaller (before) padding on both sides; the input
// gradient comes back in that larger shape and is cropped (the extra zeros' gradient dropped).
#pragma once
#include <cstddef>

#include <cuda_runtime_api.h>

namespace acts::gpu {

// x (n, h, w, c) -> xp (n, h + extra_h, w + extra_w, c): x, then zeros in the extra rows/columns.
void conv2d_pad_after(const float* x, int n, int h, int w, int c, int extra_h, int extra_w, float* xp,
                      cudaStream_t stream);
// xp (n, h + extra_h, w + extra_w, c) -> x (n, h, w, c): the leading h rows and w columns.
void conv2d_crop_after(const float* xp, int n, int h, int w, int c, int extra_h, int extra_w, float* x,
                       cudaStream_t stream);

}  // namespace acts::gpu
