// Where each parameter tensor lives in the CUDA backend's flat device vector, and the conversion
// to and from the flat Keras vector the Backend interface exchanges.
//
// Two differences from Keras' layout, both invisible outside the backend:
//  - Conv2D kernels are stored as cuDNN's NHWC filters want them, (Cout, kh, kw, Cin), instead of
//    Keras' (kh, kw, Cin, Cout); params()/set_params()/grads()/opt_state() transpose at the
//    interface. Dense kernels (in, out) and biases keep Keras' layout.
//  - Every tensor starts on a 64-float (256-byte) boundary, which cuDNN's vectorised kernels want;
//    the padding between tensors is zero in the weights, gradients and RMSprop state alike, so
//    RMSprop can still run elementwise over the whole vector in one launch (zero gradient and
//    zero accumulator leave a zero weight at zero).
// Plain C++ (no CUDA): tested on machines without a GPU.
#pragma once
#include <cstddef>
#include <vector>

#include "runtime/core/graph.h"

namespace acts {

class DeviceParamLayout {
 public:
  static constexpr size_t kAlignFloats = 64;
  explicit DeviceParamLayout(const Graph& g);

  size_t total() const { return total_; }  // floats, padding included
  size_t offset(int param) const { return offsets_.at(size_t(param)); }

  // keras: Graph::param_count() floats; device: total() floats (padding written as zero).
  void to_device(const float* keras, float* device) const;
  void to_keras(const float* device, float* keras) const;

 private:
  const Graph& g_;
  std::vector<size_t> offsets_;
  size_t total_ = 0;
};

// One conv kernel: Keras (kh, kw, cin, cout) <-> cuDNN NHWC filter (cout, kh, kw, cin).
void conv_kernel_keras_to_cudnn(const float* keras, int kh, int kw, int cin, int cout, float* cudnn);
void conv_kernel_cudnn_to_keras(const float* cudnn, int kh, int kw, int cin, int cout, float* keras);

}  // namespace acts
