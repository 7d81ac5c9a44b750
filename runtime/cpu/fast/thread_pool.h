// The CPU fast path's threads (also dump_acts' picture drawing, one image per task). Why not OpenBLAS's own threads (or OpenMP): both wait for their
// workers at a barrier after every call, spinning, so on a busy machine (a build beside the
// training, a laptop's browser) one preempted worker stalls each GEMM until the scheduler runs it
// again. Measured on 2 cores beside a 2-job build: a batch-1 forward 13.6 -> 156-304 ms with
// OpenBLAS's 2 threads, 42 ms on one thread. Here idle workers sleep on a condition variable,
// tasks are claimed one at a time from a counter (whoever runs takes the next task, the caller
// included), so a preempted thread delays only the task it holds, and OpenBLAS runs one thread
// inside each task.
//
// Results never depend on the thread count: callers split work into tasks by shape alone and
// combine per-task partial results in task order.
#pragma once
#include <cstddef>
#include <functional>

namespace acts::cpu_fast {

// Threads used by parallel_for: ACTS_CPU_THREADS when set (1-256), else the CPUs this process
// may run on (sched_getaffinity, so `taskset`/container limits count). Callable inside a task.
int thread_count();
// For tests and benchmarks: use n threads from now on (n >= 1); 0 goes back to the default.
void set_thread_count(int n);

// Runs fn(task, worker) once for every task in [0, tasks) and returns when all are done.
// `worker` in [0, thread_count()) names the thread running the task (for per-thread scratch);
// no two tasks run on one worker at once. Calls from several threads take turns; a call from
// inside a task runs its tasks inline. An exception thrown by fn is rethrown here after the other
// tasks finish.
void parallel_for(int tasks, const std::function<void(int task, int worker)>& fn);

// Splits [0, n) into contiguous ranges of at least `grain` elements (at most 64 ranges; the
// split depends on n and grain only) and runs fn(begin, end) on each in parallel. For
// elementwise work, where how the range is cut cannot change a result.
void parallel_ranges(size_t n, size_t grain, const std::function<void(size_t begin, size_t end)>& fn);

}  // namespace acts::cpu_fast
