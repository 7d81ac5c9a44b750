// One CpuOp run by hand, outside a backend, as the op-level tests need it: the forward's
// arguments kept for the backwards that follow, outputs poisoned before each call (with a value
// the test can tell from anything the op writes), and the input gradient returned from wherever
// the op left it (dx, or dy for the ops that work in place).
#pragma once
#include <utility>
#include <vector>

#include "runtime/cpu/cpu_op.h"

namespace acts::test {

class OpAlone {
 public:
  // params: the node's parameter tensors, Node::params order; read, and written by a training
  // forward's moving statistics.
  OpAlone(CpuOp& op, int n, const std::vector<float*>& params, float poison)
      : op_(op), n_(n), w_(params.begin(), params.end()), state_(params), poison_(poison) {}

  // y for x, out_size values per image.
  const std::vector<float>& forward(std::vector<float> x, size_t out_size, bool training) {
    x_ = std::move(x);
    y_.assign(size_t(n_) * out_size, poison_);
    CpuForward f;
    f.n = n_;
    f.training = training;
    f.x = x_.data();
    f.y = y_.data();
    f.w = w_.data();
    f.state = state_.data();
    f.scratch = &scratch_;
    op_.forward(f);
    return y_;
  }

  // dL/dx for dy after the last forward; dw: the parameter gradients' tensors, or null for the
  // input gradient alone.
  std::vector<float> backward(std::vector<float> dy, float* const* dw, bool input_relu = false) {
    std::vector<float> dx(x_.size(), poison_);
    CpuBackward b;
    b.n = n_;
    b.x = x_.data();
    b.y = y_.data();
    b.w = w_.data();
    b.dw = dw;
    b.dy = dy.data();
    b.dx = dx.data();
    b.input_relu = input_relu;
    b.scratch = &scratch_;
    return op_.backward(b) ? dx : dy;
  }

 private:
  CpuOp& op_;
  int n_;
  std::vector<const float*> w_;
  std::vector<float*> state_;
  float poison_;
  std::vector<float> x_, y_, scratch_;
};

}  // namespace acts::test
