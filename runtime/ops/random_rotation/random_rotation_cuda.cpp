// RandomRotation on the GPU: the random image layers' shared CudaOp (runtime/cuda/cuda_random_transform.cpp).
#include "runtime/cuda/cuda_op.h"
#include "runtime/ops/random_transform.h"

namespace acts {

std::unique_ptr<CudaOp> random_rotation_cuda(const Node& node, const CudaOpEnv& env) {
  return random_transform_cuda(node, env);
}

}  // namespace acts
