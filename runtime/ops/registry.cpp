// The registries of ops.def: LayerType -> the op's graph side and its CPU code. (The CUDA
// registry is runtime/cuda/cuda_ops.cpp, built only with the CUDA backend.)
#include <map>

#include "runtime/cpu/cpu_op.h"
#include "runtime/ops/op.h"

namespace acts {

#define ACTS_OP(keras_class, folder)                                                \
  const Op& folder##_op();                                                          \
  std::unique_ptr<CpuOp> folder##_cpu(const Node& node, const CpuOpEnv& env);
#include "runtime/ops/ops.def"
#undef ACTS_OP

namespace {
struct Entry {
  const Op& (*op)();
  std::unique_ptr<CpuOp> (*cpu)(const Node&, const CpuOpEnv&);
};
const Entry& entry(LayerType t) {
  static const std::map<LayerType, Entry> table = {
#define ACTS_OP(keras_class, folder) {LayerType::keras_class, {folder##_op, folder##_cpu}},
#include "runtime/ops/ops.def"
#undef ACTS_OP
  };
  return table.at(t);
}
constexpr LayerType kAll[] = {
#define ACTS_OP(keras_class, folder) LayerType::keras_class,
#include "runtime/ops/ops.def"
#undef ACTS_OP
};
}  // namespace

const Op& op_of(LayerType t) { return entry(t).op(); }

const Op* op_by_keras_class(const std::string& keras_class) {
  for (LayerType t : kAll)
    if (keras_class == op_of(t).keras_class()) return &op_of(t);
  return nullptr;
}

std::string keras_classes() {
  std::string out;
  for (LayerType t : kAll) out += (out.empty() ? "" : ", ") + std::string(op_of(t).keras_class());
  return out;
}

std::unique_ptr<CpuOp> make_cpu_op(const Node& node, const CpuOpEnv& env) { return entry(node.spec.type).cpu(node, env); }

}  // namespace acts
