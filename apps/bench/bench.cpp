// bench: how fast this toolkit trains and runs the Keras tutorial's CNN, in the cases
// scripts/bench/bench_pytorch.py times for PyTorch (scripts/bench/bench_compare.py puts them side by side):
//   train_b20   training step (forward, backward, RMSprop), batch 20      per step
//   train_b256  the same at batch 256                                   per step
//   eval_b20    validation step (forward + loss), batch 20              per step
//   schedule    the tutorial's fit: 30 epochs x (100 training + 50 validation steps of 20)
//   dump_1      dump_acts' work for 1 image: forward + every layer's activation to the host
//   dump_1000   the same for 1,000 images in batches of 32 (dump_acts' default batch)
//   stats_32    one record of train_gpu's per-channel statistics: 32 probe photos through the
//               network and every layer's channels summed where they lie (no peer does this)
//   top9        dump_acts --top 9's pass over 2,000 photos, every conv layer (top9_thrust: the
//               GPU's peaks by Thrust instead of the hand-written kernel)
// --scaling times instead a training step at batch 1..256 and input 150..600 px (bench_scaling.h).
// --explain times instead the heatmap and filter-pattern rows of bench_explain.h (their peers:
// scripts/bench/bench_explain_peers.py; side by side: scripts/bench/bench_explain.py).
// Input is random uint8 images held in memory (no decoding, no disk, no shuffling), rescaled
// by the backend as in training. On the CPU the big cases are skipped or scaled down unless
// --full (each row's note says so), so a CPU run takes a couple of minutes. --profile prints
// instead where a training step's time goes, op by op (bench_profile.h).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apps/cli.h"

#include "bench_explain.h"
#include "bench_plan.h"
#include "bench_profile.h"
#include "bench_report.h"
#include "bench_scaling.h"
#include "bench_timer.h"
#include "runtime/core/backend.h"
#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/dump/top_images.h"
#include "runtime/backends/version.h"
#include "runtime/train/channel_stats.h"

using namespace acts;
using namespace acts::bench;

namespace {

// Random uint8 images with 0/1 labels, (count, H, W, C): the data never leaves memory.
class Pool {
 public:
  Pool(int count, size_t image_size, uint64_t seed) : count_(count), image_size_(image_size) {
    images_.resize(size_t(count) * image_size);
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i < images_.size(); i += 8) {
      const uint64_t r = rng();
      for (size_t k = 0; k < 8 && i + k < images_.size(); ++k) images_[i + k] = uint8_t(r >> (8 * k));
    }
    labels_.resize(size_t(count));
    for (float& y : labels_) y = float(rng() & 1);
  }
  int count() const { return count_; }
  // n images from `first`, wrapping to the start when the pool runs out.
  Batch batch(long first, int n) const {
    const long at = (first % count_ + n > count_) ? 0 : first % count_;
    Batch b;
    b.n = n;
    b.images = images_.data() + size_t(at) * image_size_;
    b.labels = labels_.data() + at;
    return b;
  }

 private:
  int count_;
  size_t image_size_;
  std::vector<uint8_t> images_;
  std::vector<float> labels_;
};

struct Ctx {
  const Graph& graph;
  const Settings& s;
  Clock& clock;
  std::function<std::unique_ptr<Backend>(int max_batch)> make;
  std::function<std::unique_ptr<Backend>(int max_batch)> make_thrust_peaks;  // BackendOptions::peaks_thrust
};

// Median ms per step over `repeats` timed runs of `per_repeat` steps, after `warmup` steps.
void time_steps(Row& row, const Ctx& c, int batch, bool train, const StepPlan& p) {
  auto be = c.make(batch);
  const Pool pool(4 * batch, c.graph.input_size(), 7);
  long next = 0;
  auto step = [&] {
    const Batch b = pool.batch(next, batch);
    next += batch;
    train ? be->train_step(b) : be->eval_step(b);
  };
  for (int i = 0; i < p.warmup; ++i) step();
  be->take_metrics();
  std::vector<double> ms;
  for (int r = 0; r < p.repeats; ++r) {
    c.clock.start();
    for (int i = 0; i < p.per_repeat; ++i) step();
    ms.push_back(c.clock.stop_ms() / p.per_repeat);
    be->take_metrics();
  }
  row.ms = median(ms);
  row.repeats = p.repeats * p.per_repeat;
}

// Times each row that --rows wants with time_row(row) into rep.rows. Without the GPU asked for,
// every row says why it did not run; a row whose timing fails (acts::Error: the CUDA backend
// cannot run this case, out of memory) is kept, skipped, with the reason, and the others go on.
void run_rows(const std::vector<Row>& rows, const Options& o, const std::string& gpu_problem, Report& rep,
              const std::function<void(Row&)>& time_row) {
  for (Row row : rows) {
    if (!wanted(o, row.id)) continue;
    if (!gpu_problem.empty()) {
      row.skipped = true;
      row.note = gpu_problem;
    }
    if (!row.skipped) {
      std::fprintf(stderr, "bench: %s ...\n", row.what.c_str());
      try {
        time_row(row);
      } catch (const Error& e) {
        row.skipped = true;
        row.note = e.what();
      }
    }
    rep.rows.push_back(row);
  }
}

// MemAvailable of /proc/meminfo in bytes; 0 where there is none.
size_t available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kb = 0;
  while (in >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024;
    in.ignore(1 << 10, '\n');  // the unit
  }
  return 0;
}

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(1ULL << 30));
  return buf;
}

// One --scaling cell: the tutorial CNN at the cell's size, training steps at its batch. A cell
// that would not fit in the host memory available is skipped naming what it needs (CPU); on the
// GPU a failed allocation throws, and run_rows() makes the CUDA backend's out-of-memory line, with
// what the cell needs, the row's note.
void time_scaling_cell(Row& row, const ScalingCell& cell, const BackendOptions& bo, bool gpu, const Settings& s,
                       Clock& clock, const StepPlan& p, std::string& backend_name) {
  const Graph graph(tutorial_model(cell.size));
  const size_t need = training_bytes(graph, cell.batch, bo.precision == Precision::kMixedBf16);
  row.note = "~" + gib(need) + " of activations, gradients and weights";
  if (!gpu) {
    const size_t have = available_bytes();
    if (have && need > have) {
      row.skipped = true;
      row.note = "does not fit: needs ~" + gib(need) + ", " + gib(have) + " available";
      return;
    }
  }
  const Ctx c{graph, s, clock, [&](int max_batch) {
                BackendOptions b = bo;
                b.max_batch = max_batch;
                auto be = gpu ? make_cuda_backend(graph, b) : make_cpu_backend(graph, b);
                if (backend_name.empty()) backend_name = be->name();
                return be;
              },
              nullptr};
  try {
    time_steps(row, c, cell.batch, true, p);
  } catch (const Error& e) {  // e.g. out of GPU memory: say what the cell would need
    fail(e.what(), " (the cell needs ~", gib(need), ")");
  }
}

// forward + every layer's activation copied to the host, as dump_acts does before writing.
// The host buffers are reused from batch to batch, as dump_acts reuses its own.
void dump_run(Backend& be, const Pool& pool, int images, int batch) {
  std::vector<std::vector<float>> acts(be.graph().nodes().size());
  for (int i = 0; i < images; i += batch) {
    be.forward(pool.batch(i, std::min(batch, images - i)), false);
    for (size_t l = 0; l < acts.size(); ++l) {
      be.activation(be.graph().nodes()[l].spec.name, acts[l]);
      if (acts[l].empty()) fail("bench: empty activation for ", be.graph().nodes()[l].spec.name);
    }
  }
}

void time_dump(Row& row, const Ctx& c, int images, const StepPlan& p) {
  const int batch = std::min(images, c.s.dump_batch);
  auto be = c.make(batch);
  const Pool pool(std::max(images, batch), c.graph.input_size(), 11);
  // Warm-up runs are whole runs: the last, partial batch has its own size (cuDNN plans, graphs).
  for (int i = 0; i < p.warmup; ++i) dump_run(*be, pool, images, batch);
  std::vector<double> ms;
  for (int r = 0; r < p.repeats; ++r) {
    c.clock.start();
    dump_run(*be, pool, images, batch);
    ms.push_back(c.clock.stop_ms());
  }
  row.ms = median(ms);
  row.repeats = p.repeats;
}

// The tutorial's fit loop: per epoch the training steps, their metrics, the validation steps
// and theirs. One timed run after a few warm-up steps (cuDNN plans, CUDA graph capture).
void time_schedule(Row& row, const Ctx& c) {
  const SchedulePlan& p = c.s.schedule;
  auto be = c.make(p.batch);
  const Pool train(p.train_steps * p.batch, c.graph.input_size(), 13), val(p.val_steps * p.batch, c.graph.input_size(), 17);
  for (int i = 0; i < 3; ++i) be->train_step(train.batch(long(i) * p.batch, p.batch));
  be->eval_step(val.batch(0, p.batch));
  be->take_metrics();
  c.clock.start();
  for (int e = 0; e < p.epochs; ++e) {
    for (int i = 0; i < p.train_steps; ++i) be->train_step(train.batch(long(i) * p.batch, p.batch));
    be->take_metrics();
    for (int i = 0; i < p.val_steps; ++i) be->eval_step(val.batch(long(i) * p.batch, p.batch));
    be->take_metrics();
  }
  row.ms = c.clock.stop_ms();
  row.repeats = 1;
}

// One record of train_gpu's channel statistics (32 random photos as the probe set, batches of 20
// as the tutorial trains), median of the repeats.
void time_stats(Row& row, const Ctx& c, const StepPlan& p) {
  auto be = c.make(row.batch);
  Dataset probe;
  probe.height = c.graph.nodes()[0].in_shape[0];
  probe.width = c.graph.nodes()[0].in_shape[1];
  const Pool pool(int(row.images), c.graph.input_size(), 19);
  const Batch all = pool.batch(0, int(row.images));
  probe.pixels.assign(all.images, all.images + size_t(row.images) * c.graph.input_size());
  probe.labels.assign(all.labels, all.labels + row.images);
  training::ChannelStats stats(c.graph, probe, probe, int(row.images), 1, 1.f / 255.f);
  for (int i = 0; i < p.warmup; ++i) stats.record(*be, row.batch, 1, i);
  std::vector<double> ms;
  for (int r = 0; r < p.repeats; ++r) {
    c.clock.start();
    stats.record(*be, row.batch, 2, r);
    ms.push_back(c.clock.stop_ms());
  }
  row.ms = median(ms);
  row.repeats = p.repeats;
}

// dump_acts --top 9's pass (find_top_images) over the plan's images, every conv layer, batches
// of 32; a run is the whole pass.
void time_top(Row& row, const Ctx& c, const StepPlan& p, bool thrust) {
  auto be = (thrust ? c.make_thrust_peaks : c.make)(row.batch);
  const Pool pool(int(row.images), c.graph.input_size(), 23);
  const Batch all = pool.batch(0, int(row.images));
  Inputs in;
  in.height = c.graph.spec().height;
  in.width = c.graph.spec().width;
  in.pixels.assign(all.images, all.images + size_t(row.images) * c.graph.input_size());
  in.sources.assign(size_t(row.images), "");
  const std::vector<const Node*> layers = conv_layers(c.graph);
  for (int i = 0; i < p.warmup; ++i) find_top_images(*be, in, 1.f / 255.f, layers, 9, nullptr);
  std::vector<double> ms;
  for (int r = 0; r < p.repeats; ++r) {
    c.clock.start();
    find_top_images(*be, in, 1.f / 255.f, layers, 9, nullptr);
    ms.push_back(c.clock.stop_ms());
  }
  row.ms = median(ms);
  row.repeats = p.repeats;
}

// stats_32's note: its share of a tutorial epoch (100 training and 50 validation steps of 20,
// from this run's train_b20 and eval_b20 rows), where both ran.
void note_stats_share(std::vector<Row>& rows) {
  const Row *train = nullptr, *eval = nullptr;
  for (const Row& r : rows) {
    if (r.id == "train_b20" && !r.skipped) train = &r;
    if (r.id == "eval_b20" && !r.skipped) eval = &r;
  }
  for (Row& r : rows)
    if (r.id == "stats_32" && !r.skipped && train && eval) {
      char note[160];
      std::snprintf(note, sizeof note, "%.2f%% of a tutorial epoch (100 x train_b20 + 50 x eval_b20)",
                    100.0 * r.ms / (100 * train->ms + 50 * eval->ms));
      r.note = note;
    }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times the Keras tutorial CNN on this toolkit's backends (see docs/benchmarks.md)"};
  Options o;
  acts::cli::add_device(app, o.device, "auto (GPU if usable, else CPU), cuda or cpu");
  bool version = false;
  acts::cli::add_version(app, version);
  app.add_option("--json", o.json, "Also write the results as JSON to this file");
  app.add_option("--rows", o.rows, "Comma-separated row ids to run (default: all)");
  app.add_flag("--quick", o.quick, "Scale every case down (smoke test, CI)");
  app.add_flag("--full", o.full, "On the CPU too, run every case at full size (2 cores: ~30 min, mostly the schedule)");
  app.add_option("--repeats", o.repeats, "Timed repeats per row (default: per row and device)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--tf32", o.tf32, "GPU: allow TF32 tensor-core math (default strict fp32, as PyTorch's side)");
  app.add_flag("--nondeterministic", o.nondeterministic, "GPU: allow non-reproducible (faster) algorithms");
  app.add_flag("--cpu-reference", o.cpu_reference, "CPU: the reference loops instead of the OpenBLAS path");
  app.add_option("--precision", o.precision,
                 "fp32, or bf16 (Keras' mixed_bfloat16; GPU: Conv2D and Dense on bf16 tensor cores; CPU: "
                 "Conv2D on oneDNN's bf16 kernels with AVX512-BF16 or AMX, else float32 kernels on "
                 "bf16-rounded tensors)")
      ->default_val("fp32")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_flag("--cudnn-benchmark", o.conv_search,
               "GPU: time cuDNN's convolution algorithms at start and take the fastest allowed (as "
               "torch.backends.cudnn.benchmark; default: cuDNN's heuristics, the same choice every run)");
  bool explain = false;
  std::string photos;
  app.add_flag("--explain", explain,
               "Instead of the training rows: Grad-CAM (1 and 32 images), Score-CAM (128 channels) and filter "
               "patterns (128 filters) of conv2d_4 with fixed generated weights (--rows picks among them)");
  app.add_option("--photos", photos,
                 "--explain: the photos to explain, an x.npy/y.npy folder (scripts/data/photos_to_npy.py) or, "
                 "with OpenCV, class folders (default: random pixels)");
  app.add_option("--filter-steps", o.filter_steps,
                 "--explain: gradient-ascent steps per filters_128 run (default the book's 40; fewer: the row "
                 "says SCALED DOWN, each step being the same work)")
      ->check(CLI::PositiveNumber);
  bool scaling = false;
  app.add_flag("--scaling", scaling,
               "Instead of the rows: a training step at batch 1, 8, 20, 64, 256 (150x150) and at 300 and 600 px "
               "(batch 8); --rows picks among step_b<batch>_<size>");
  bool profile = false;
  app.add_flag("--profile", profile,
               "Instead of the rows: one training step op by op (batch 20, and 256 on the GPU), median of "
               "repeats; text only");
  if (const int code = acts::cli::parse(app, argc, argv); code >= 0) return code;
  if (version) return acts::cli::print_version("bench");

  try {
    const Graph graph(tutorial_model(150));
    std::string why;
    const bool gpu = o.device == "cuda" || (o.device == "auto" && cuda_available(&why));
    if (o.device == "auto" && !gpu) std::fprintf(stderr, "bench: no usable GPU (%s); timing the CPU\n", why.c_str());
    const Settings s = make_settings(gpu, o);
    Report rep;
    rep.tool = "acts bench";
    rep.device = gpu ? "cuda" : "cpu (" + cpu_model() + ", " + std::to_string(std::thread::hardware_concurrency()) + " threads)";
    rep.date = utc_now();
    rep.version = version_text("bench");
    rep.settings = settings_json(s, o);
    BackendOptions bo;
    bo.tf32 = o.tf32;
    bo.deterministic = !o.nondeterministic;
    bo.cpu_reference = o.cpu_reference;
    bo.conv_search = o.conv_search;
    bo.precision = parse_precision(o.precision);
    std::string gpu_problem;  // --device cuda without a usable GPU: every row says why it did not run
    if (gpu && !cuda_available(&gpu_problem)) gpu_problem = "no usable GPU: " + gpu_problem;
    if (profile) {
      if (gpu && !gpu_problem.empty()) fail(gpu_problem);
      const std::vector<int> batches = gpu ? std::vector<int>{20, 256} : std::vector<int>{o.quick ? 4 : 20};
      const int repeats = o.repeats ? o.repeats : gpu ? 20 : (o.quick ? 2 : 3);
      std::fputs(profile_table(
                     graph,
                     [&](int max_batch) {
                       BackendOptions b = bo;
                       b.max_batch = max_batch;
                       return gpu ? make_cuda_backend(graph, b) : make_cpu_backend(graph, b);
                     },
                     batches, gpu ? 5 : 1, repeats)
                     .c_str(),
                 stdout);
      return 0;
    }
    std::unique_ptr<Clock> clock = gpu && gpu_problem.empty() ? make_gpu_clock() : make_cpu_clock();
    rep.clock = clock->describe();
    Ctx c{graph, s, *clock, [&](int max_batch) {
            BackendOptions b = bo;
            b.max_batch = max_batch;
            auto be = gpu ? make_cuda_backend(graph, b) : make_cpu_backend(graph, b);
            if (rep.backend.empty()) rep.backend = be->name();
            return be;
          },
          [&](int max_batch) {
            BackendOptions b = bo;
            b.max_batch = max_batch;
            b.peaks_thrust = true;
            return gpu ? make_cuda_backend(graph, b) : make_cpu_backend(graph, b);
          }};
    if (scaling) {
      rep.settings["scaling"] = scaling_plan_json(gpu, o);
      run_rows(scaling_rows(), o, gpu_problem, rep, [&](Row& row) {
        for (const ScalingCell& cell : scaling_cells())
          if (scaling_id(cell) == row.id)
            time_scaling_cell(row, cell, bo, gpu, s, *clock, scaling_plan(gpu, o), rep.backend);
      });
    }
    if (explain) {
      const ExplainPlan ep = make_explain_plan(gpu, o);
      rep.settings["explain"] = explain_plan_json(ep);
      std::string photos_note;
      std::vector<uint8_t> px;
      try {
        px = explain_photos(photos, graph, 32, photos_note);
      } catch (const Error& e) {  // a bad --photos is a bad command line: one line, exit 2
        std::fprintf(stderr, "error: --photos: %s\n", e.what());
        return 2;
      }
      rep.settings["photos"] = photos_note;
      run_rows(explain_rows(ep, photos_note), o, gpu_problem, rep,
               [&](Row& row) { time_explain(row, graph, ep, px, *clock, c.make); });
    }
    if (!explain && !scaling)
      run_rows(planned_rows(s), o, gpu_problem, rep, [&](Row& row) {
        if (row.id == "train_b20" || row.id == "train_b256") time_steps(row, c, row.batch, true, s.steps(row.id));
        else if (row.id == "eval_b20") time_steps(row, c, row.batch, false, s.steps(row.id));
        else if (row.id == "schedule") time_schedule(row, c);
        else if (row.id == "stats_32") time_stats(row, c, s.steps(row.id));
        else if (row.id == "top9" || row.id == "top9_thrust") time_top(row, c, s.steps(row.id), row.id == "top9_thrust");
        else time_dump(row, c, int(row.images), s.steps(row.id));
      });
    note_stats_share(rep.rows);
    if (rep.backend.empty()) rep.backend = gpu ? "cuda backend (not constructed)" : "cpu backend";
    std::fputs(table(rep).c_str(), stdout);
    if (!o.json.empty()) write_json(rep, o.json);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
