// The CUDA registry of ops.def: LayerType -> the op's CudaOp.
#include <map>

#include "runtime/cuda/cuda_op.h"

namespace acts {

#define ACTS_OP(keras_class, folder) std::unique_ptr<CudaOp> folder##_cuda(const Node& node, const CudaOpEnv& env);
#include "runtime/ops/ops.def"
#undef ACTS_OP

std::unique_ptr<CudaOp> make_cuda_op(const Node& node, const CudaOpEnv& env) {
  using Factory = std::unique_ptr<CudaOp> (*)(const Node&, const CudaOpEnv&);
  static const std::map<LayerType, Factory> table = {
#define ACTS_OP(keras_class, folder) {LayerType::keras_class, folder##_cuda},
#include "runtime/ops/ops.def"
#undef ACTS_OP
  };
  return table.at(node.spec.type)(node, env);
}

}  // namespace acts
