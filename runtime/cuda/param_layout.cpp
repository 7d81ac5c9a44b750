#include "param_layout.h"

#include <algorithm>

namespace acts {

DeviceParamLayout::DeviceParamLayout(const Graph& g) : g_(g) {
  for (const ParamRef& p : g.params()) {
    offsets_.push_back(total_);
    total_ += (p.size + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
  total_ = std::max(total_, kAlignFloats);  // never an empty allocation
}

void conv_kernel_keras_to_cudnn(const float* keras, int kh, int kw, int cin, int cout, float* cudnn) {
  for (int i = 0; i < kh; ++i)
    for (int j = 0; j < kw; ++j)
      for (int c = 0; c < cin; ++c)
        for (int f = 0; f < cout; ++f)
          cudnn[((size_t(f) * kh + i) * kw + j) * cin + c] = keras[((size_t(i) * kw + j) * cin + c) * cout + f];
}

void conv_kernel_cudnn_to_keras(const float* cudnn, int kh, int kw, int cin, int cout, float* keras) {
  for (int i = 0; i < kh; ++i)
    for (int j = 0; j < kw; ++j)
      for (int c = 0; c < cin; ++c)
        for (int f = 0; f < cout; ++f)
          keras[((size_t(i) * kw + j) * cin + c) * cout + f] = cudnn[((size_t(f) * kh + i) * kw + j) * cin + c];
}

void DeviceParamLayout::to_device(const float* keras, float* device) const {
  std::fill(device, device + total_, 0.f);
  for (size_t k = 0; k < g_.params().size(); ++k) {
    const ParamRef& p = g_.params()[k];
    const float* src = keras + p.offset;
    float* dst = device + offsets_[k];
    if (p.shape.size() == 4)  // Conv2D kernel (kh, kw, Cin, Cout)
      conv_kernel_keras_to_cudnn(src, p.shape[0], p.shape[1], p.shape[2], p.shape[3], dst);
    else
      std::copy(src, src + p.size, dst);
  }
}

void DeviceParamLayout::to_keras(const float* device, float* keras) const {
  for (size_t k = 0; k < g_.params().size(); ++k) {
    const ParamRef& p = g_.params()[k];
    const float* src = device + offsets_[k];
    float* dst = keras + p.offset;
    if (p.shape.size() == 4)
      conv_kernel_cudnn_to_keras(src, p.shape[0], p.shape[1], p.shape[2], p.shape[3], dst);
    else
      std::copy(src, src + p.size, dst);
  }
}

}  // namespace acts
