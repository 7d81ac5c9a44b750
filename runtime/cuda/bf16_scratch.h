// The bf16 copies a CudaOp hands to cuDNN's or cuBLAS' bf16 paths under mixed bf16 (packed by
// kernels/cuda/bf16.cuh from the float32 tensors the other ops read): a few numbered slots, each
// grown in plan() to the largest batch planned, never during a step (a captured step may not
// allocate). A buffer a captured graph may still point to is kept, not freed, when its slot grows.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <cuda_bf16.h>

#include "runtime/cuda/device_buffer.h"

namespace acts {

class Bf16Scratch {
 public:
  // Slot `slot` holds at least `count` elements from now on; `what` names it in an out-of-memory error.
  void reserve(size_t slot, size_t count, const std::string& what) {
    if (slot >= slots_.size()) slots_.resize(slot + 1);
    if (slots_[slot].size() >= count) return;
    old_.push_back(std::exchange(slots_[slot], DeviceBuffer<__nv_bfloat16>(count, what)));
  }
  __nv_bfloat16* get(size_t slot) const { return slots_.at(slot).get(); }

 private:
  std::vector<DeviceBuffer<__nv_bfloat16>> slots_, old_;
};

}  // namespace acts
