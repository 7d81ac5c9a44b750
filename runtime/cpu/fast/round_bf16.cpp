// The mixed-precision rounding pass across the pool's threads (cpu_fast.h).
#include "kernels/cpu/bf16.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts::cpu_fast {

void round_bf16(float* p, size_t n) {
  parallel_ranges(n, size_t(1) << 16, [&](size_t i0, size_t i1) { cpu::round_bf16(p + i0, p + i0, i1 - i0); });
}

}  // namespace acts::cpu_fast
