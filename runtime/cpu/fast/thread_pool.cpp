// The CPU fast path's worker threads (see thread_pool.h for why they sleep instead of spin).
#include "runtime/cpu/fast/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace acts::cpu_fast {
namespace {

int default_threads() {
  if (const char* env = std::getenv("ACTS_CPU_THREADS"); env && *env) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end == '\0' && n >= 1 && n <= 256) return int(n);
    static std::once_flag warned;  // said once, not per layer
    std::call_once(warned, [env] {
      std::fprintf(stderr, "warning: ACTS_CPU_THREADS=%s is not a number from 1 to 256; using every CPU\n", env);
    });
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

// The pool's index of the thread running this code inside a task, -1 outside any task: a
// parallel_for from inside a task runs inline on that worker.
thread_local int t_worker = -1;

// One parallel_for call. Workers hold it by shared_ptr, so one that wakes late, after the call
// returned, finds its counter used up and never touches the next call's tasks.
struct Job {
  const std::function<void(int, int)>* fn;
  int tasks;
  unsigned long id;  // which call: workers take part in each once
  std::atomic<int> next{0};
  int unfinished;  // guarded by Pool::m_
  std::exception_ptr error;  // guarded by Pool::m_
};

void run_inline(int tasks, const std::function<void(int, int)>& fn, int worker) {
  const int outer = t_worker;
  t_worker = worker;
  try {
    for (int t = 0; t < tasks; ++t) fn(t, worker);
  } catch (...) {
    t_worker = outer;
    throw;
  }
  t_worker = outer;
}

class Pool {
 public:
  ~Pool() { resize(0); }

  int threads() {
    if (t_worker >= 0) return size_;  // inside a task: call_ is held by the running call
    std::lock_guard<std::mutex> call(call_);
    ensure_started();
    return size_;
  }

  void set_threads(int n) {
    std::lock_guard<std::mutex> call(call_);
    wanted_ = n;
    started_ = false;
  }

  void run(int tasks, const std::function<void(int, int)>& fn) {
    std::lock_guard<std::mutex> call(call_);  // one call at a time; other callers wait their turn
    ensure_started();
    if (workers_.empty() || tasks == 1) return run_inline(tasks, fn, 0);
    auto job = std::make_shared<Job>();
    job->fn = &fn;
    job->tasks = tasks;
    job->unfinished = tasks;
    {
      std::lock_guard<std::mutex> lock(m_);
      job->id = ++calls_;
      job_ = job;
    }
    wake_.notify_all();
    work(*job, 0);
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return job->unfinished == 0; });  // tasks done; idle workers may still hold job
    job_.reset();
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  // Called with call_ held.
  void ensure_started() {
    if (started_) return;
    resize((wanted_ > 0 ? wanted_ : default_threads()) - 1);
    size_ = int(workers_.size()) + 1;
    started_ = true;
  }

  // Called with call_ held (or from the destructor): no call is running.
  void resize(int workers) {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    for (int w = 1; w <= workers; ++w) workers_.emplace_back([this, w] { loop(w); });
  }

  // Claims the job's tasks until none is left; the one finishing the last task wakes the caller.
  void work(Job& job, int worker) {
    t_worker = worker;
    for (int t; (t = job.next.fetch_add(1)) < job.tasks;) {
      std::exception_ptr error;
      try {
        (*job.fn)(t, worker);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(m_);
      if (error && !job.error) job.error = error;
      if (--job.unfinished == 0) done_.notify_one();
    }
    t_worker = -1;
  }

  void loop(int worker) {
    unsigned long last = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return stop_ || (job_ && job_->id != last); });
        if (stop_) return;
        job = job_;
      }
      last = job->id;
      work(*job, worker);
    }
  }

  std::mutex call_;  // held for a whole parallel_for: calls never overlap
  int wanted_ = 0;   // set_thread_count(); 0: default_threads()
  bool started_ = false;
  std::atomic<int> size_{1};  // workers + the caller, once started
  std::vector<std::thread> workers_;  // worker w runs as index w; the caller is worker 0

  std::mutex m_;  // guards job_, stop_ and the jobs' unfinished/error
  std::condition_variable wake_, done_;
  std::shared_ptr<Job> job_;  // the running call, null between calls
  unsigned long calls_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int thread_count() { return pool().threads(); }

void set_thread_count(int n) { pool().set_threads(std::max(0, n)); }

void parallel_for(int tasks, const std::function<void(int, int)>& fn) {
  if (tasks <= 0) return;
  if (t_worker >= 0) return run_inline(tasks, fn, t_worker);  // nested: already on a pool thread
  pool().run(tasks, fn);
}

void parallel_ranges(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  const size_t parts = std::min<size_t>(64, std::max<size_t>(1, n / std::max<size_t>(grain, 1)));
  parallel_for(int(parts), [&](int t, int) { fn(n * size_t(t) / parts, n * size_t(t + 1) / parts); });
}

}  // namespace acts::cpu_fast
