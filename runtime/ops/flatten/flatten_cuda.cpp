// Flatten on the GPU: its output is its input's memory (aliased), so it issues nothing.
#include "runtime/cuda/cuda_op.h"

namespace acts {
namespace {

class FlattenCuda final : public CudaOp {
 public:
  explicit FlattenCuda(const CudaOpEnv& env) : env_(env) {}
  bool aliases_input() const override { return true; }
  void forward(const CudaForward&) override {}
  bool backward(const CudaBackward&) override {
    env_.mark("backward");
    return false;
  }

 private:
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> flatten_cuda(const Node&, const CudaOpEnv& env) { return std::make_unique<FlattenCuda>(env); }

}  // namespace acts
