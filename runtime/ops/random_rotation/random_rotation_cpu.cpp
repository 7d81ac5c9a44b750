// RandomRotation on the CPU: the random image layers' shared CpuOp (runtime/cpu/cpu_random_transform.cpp).
#include "runtime/cpu/cpu_op.h"
#include "runtime/ops/random_transform.h"

namespace acts {

std::unique_ptr<CpuOp> random_rotation_cpu(const Node& node, const CpuOpEnv& env) {
  return random_transform_cpu(node, env);
}

}  // namespace acts
