// What the bench program runs on which device: warm-up and repeat counts per row, and how the
// big cases are scaled down on the CPU or with --quick. scripts/bench/bench_pytorch.py mirrors these
// numbers (its plan() function) so both sides time the same work; keep the two in step.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_report.h"

namespace acts::bench {

struct Options {
  std::string device = "auto", json, rows;
  bool quick = false, full = false, tf32 = false, nondeterministic = false, cpu_reference = false, conv_search = false;
  std::string precision = "fp32";  // fp32 | bf16 (BackendOptions::precision)
  int repeats = 0;  // 0: the plan's default
  int filter_steps = 0;  // --explain's filters_128: steps per run (0: the book's 40; fewer: SCALED DOWN)
};

struct StepPlan {
  int warmup = 0;      // untimed steps (or runs) first: allocation, cuDNN plans, graph capture
  int repeats = 0;     // timed runs; the row reports their median
  int per_repeat = 1;  // steps per timed run (GPU: many, so launch jitter averages out)
};

struct SchedulePlan {
  int epochs = 30, train_steps = 100, val_steps = 50, batch = 20;
};

struct Settings {
  bool gpu = false;
  StepPlan train_b20, train_b256, eval_b20, dump_1, dump_1000, stats_32, top9;
  SchedulePlan schedule;
  int dump_images = 1000, dump_batch = 32;
  int top_images = 2000;  // top9's dataset: the tutorial's training photos (random pixels here)
  std::string b256_skip, schedule_note, dump_note, top_note;  // empty: full size
  const StepPlan& steps(const std::string& id) const;
};

Settings make_settings(bool gpu, const Options& o);
nlohmann::json settings_json(const Settings& s, const Options& o);
// Every row in table order, with id, case, batch, images and FLOPs per unit, and its note.
std::vector<Row> planned_rows(const Settings& s);
bool wanted(const Options& o, const std::string& id);  // --rows filter

}  // namespace acts::bench
