// The CPU fast path's thread pool (runtime/cpu/fast/thread_pool.h): every task runs exactly once
// on a worker index no other running task holds, exceptions reach the caller, nested and
// concurrent calls work, the thread count follows set_thread_count and ACTS_CPU_THREADS, and
// idle workers sleep instead of spinning (the reason the pool exists).
#include <sched.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/fast/thread_pool.h"

using namespace acts::cpu_fast;

namespace {

// Restores the default thread count (and ACTS_CPU_THREADS) after each test.
struct ThreadPool : ::testing::Test {
  void TearDown() override {
    unsetenv("ACTS_CPU_THREADS");
    set_thread_count(0);
  }
};

int cpus_allowed() {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

TEST_F(ThreadPool, EveryTaskRunsOnceOnAWorkerNoOtherTaskHolds) {
  for (int threads : {1, 2, 4}) {
    set_thread_count(threads);
    ASSERT_EQ(thread_count(), threads);
    const int tasks = 2000;
    std::vector<std::atomic<int>> ran(tasks);
    std::vector<std::atomic<int>> busy(threads);
    std::atomic<int> bad_worker{0}, overlaps{0};
    parallel_for(tasks, [&](int t, int w) {
      if (w < 0 || w >= threads) {
        ++bad_worker;
        return;
      }
      if (busy[w].exchange(1)) ++overlaps;  // another task is running as worker w
      ran[t].fetch_add(1);
      for (volatile int spin = 0; spin < 200; ++spin) {
      }
      busy[w].store(0);
    });
    EXPECT_EQ(bad_worker.load(), 0) << threads << " threads";
    EXPECT_EQ(overlaps.load(), 0) << threads << " threads";
    for (int t = 0; t < tasks; ++t) ASSERT_EQ(ran[t].load(), 1) << "task " << t << ", " << threads << " threads";
  }
}

TEST_F(ThreadPool, RangesCoverEveryElementOnceAndDependOnSizeAlone) {
  for (size_t n : {size_t(1), size_t(63), size_t(1000), size_t(1) << 20}) {
    std::vector<std::vector<std::pair<size_t, size_t>>> cuts;  // per thread count, sorted
    for (int threads : {1, 3}) {
      set_thread_count(threads);
      std::vector<std::atomic<int>> hit(n);
      std::vector<std::pair<size_t, size_t>> ranges(64, {0, 0});
      std::atomic<int> count{0};
      parallel_ranges(n, 100, [&](size_t b, size_t e) {
        ranges[size_t(count++)] = {b, e};
        for (size_t i = b; i < e; ++i) hit[i].fetch_add(1);
      });
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(hit[i].load(), 1) << "element " << i << " of " << n;
      EXPECT_EQ(count.load(), int(std::min<size_t>(64, std::max<size_t>(1, n / 100)))) << n;
      ranges.resize(size_t(count.load()));
      std::sort(ranges.begin(), ranges.end());
      cuts.push_back(ranges);
    }
    EXPECT_EQ(cuts[0], cuts[1]) << n << " elements were cut differently on 1 and on 3 threads";
  }
}

TEST_F(ThreadPool, AnExceptionReachesTheCallerAfterTheOtherTasks) {
  set_thread_count(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_for(100,
                            [&](int t, int) {
                              ++ran;
                              if (t == 17) throw std::runtime_error("task 17");
                            }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 100);
  std::atomic<int> again{0};  // the pool still works afterwards
  parallel_for(10, [&](int, int) { ++again; });
  EXPECT_EQ(again.load(), 10);
}

TEST_F(ThreadPool, ANestedCallRunsInlineOnTheSameWorker) {
  set_thread_count(3);
  std::atomic<int> inner{0}, wrong_worker{0};
  parallel_for(20, [&](int, int w) {
    parallel_for(5, [&](int, int w2) {
      ++inner;
      if (w2 != w) ++wrong_worker;
    });
  });
  EXPECT_EQ(inner.load(), 100);
  EXPECT_EQ(wrong_worker.load(), 0);
}

// A task may ask how many threads there are (a fast-path op called inside a task sizes its
// scratch that way): it must get the answer, not wait for the call it is part of.
TEST_F(ThreadPool, TheThreadCountCanBeAskedInsideATask) {
  set_thread_count(3);
  std::atomic<int> wrong{0};
  parallel_for(12, [&](int, int) {
    if (thread_count() != 3) ++wrong;
  });
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ThreadPool, CallsFromSeveralThreadsTakeTurns) {
  set_thread_count(2);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) parallel_for(7, [&](int t, int) { total += t + 1; });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4L * 200 * (7 * 8 / 2));
}

TEST_F(ThreadPool, TheThreadCountFollowsTheSettingAndTheEnvironment) {
  set_thread_count(0);
  EXPECT_EQ(thread_count(), cpus_allowed());
  setenv("ACTS_CPU_THREADS", "5", 1);
  set_thread_count(0);
  EXPECT_EQ(thread_count(), 5);
  set_thread_count(2);  // an explicit setting wins over the environment
  EXPECT_EQ(thread_count(), 2);
  setenv("ACTS_CPU_THREADS", "lots", 1);  // refused with a warning: every CPU
  set_thread_count(0);
  EXPECT_EQ(thread_count(), cpus_allowed());
}

// A thread's scheduler state from /proc ('R' running or runnable, 'S' asleep in the kernel).
char thread_state(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the name before it may hold spaces and parentheses
  return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
}

// The point of the pool: between calls its workers sleep in the kernel (on a condition
// variable) instead of spinning. Each worker takes one task of a call and says which thread it
// is; after the call every one of them must go to sleep ('S' in /proc). A spinning worker stays
// 'R' and never gets there. No clock is waited on: the loop waits for the state itself; its
// guard only ends a test that would otherwise hang.
TEST_F(ThreadPool, IdleWorkersSleepInsteadOfSpinning) {
  const int threads = 4;
  set_thread_count(threads);
  std::vector<pid_t> tid(threads, 0);
  std::atomic<int> started{0};
  parallel_for(threads, [&](int, int worker) {
    tid[size_t(worker)] = gettid();
    ++started;  // hold every task until all have started: each worker runs exactly one
    while (started < threads) std::this_thread::yield();
  });
  const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (int w = 1; w < threads; ++w) {
    ASSERT_NE(tid[size_t(w)], 0) << "worker " << w << " took no task";
    ASSERT_NE(tid[size_t(w)], gettid()) << "worker " << w << " is the caller";
    while (thread_state(tid[size_t(w)]) != 'S' && std::chrono::steady_clock::now() < guard)
      std::this_thread::yield();
    EXPECT_EQ(thread_state(tid[size_t(w)]), 'S') << "worker " << w << " did not go to sleep after the call";
  }
}

}  // namespace
