#include "trainer.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <new>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "background_writer.h"
#include "progress.h"
#include "run_dir.h"
#include "runtime/core/atomic_file.h"
#include "runtime/core/backend.h"
#include "runtime/core/checkpoint.h"
#include "runtime/data/dataset.h"
#include "runtime/core/errors.h"
#include "runtime/core/stop_request.h"

namespace acts {
using json = nlohmann::json;

namespace {

constexpr int kMetricsEvery = 10;  // steps between reads of the running loss/accuracy

// What defines a run: stored in run.json and every checkpoint, restored by --resume.
json identity(const TrainConfig& c) {
  return {{"data", c.data},         {"model_json", c.model_json},       {"epochs", c.epochs},
          {"steps_per_epoch", c.steps_per_epoch}, {"validation_steps", c.validation_steps},
          {"batch_size", c.batch_size}, {"image_size", c.image_size}, {"lr", c.lr},
          {"augment", c.augment},   {"seed", c.seed},                   {"interpolation", c.interpolation},
          {"rmsprop", c.rmsprop}};
}

RmspropRule rmsprop_rule(const std::string& name) {
  if (name == "keras2") return RmspropRule::kKeras2;
  if (name == "keras3") return RmspropRule::kKeras3;
  fail("RMSprop rule '", name, "' is neither keras2 nor keras3");
}

void restore_identity(TrainConfig& c, const json& j) {
  const std::string moved = c.data;  // --data on resume: where the run's data lies now
  c.data = j.at("data");
  if (!moved.empty() && moved != c.data) {
    char real[4096];
    c.data = realpath(moved.c_str(), real) ? real : moved;
    std::printf("Data: %s (the run started on %s)\n", c.data.c_str(), j.at("data").get<std::string>().c_str());
  }
  c.model_json = j.at("model_json");
  c.steps_per_epoch = j.at("steps_per_epoch");
  c.validation_steps = j.at("validation_steps");
  c.batch_size = j.at("batch_size");
  c.image_size = j.at("image_size");
  c.lr = j.at("lr");
  c.augment = j.at("augment");
  c.seed = j.at("seed");
  c.interpolation = j.at("interpolation");
  c.rmsprop = j.value("rmsprop", "keras2");  // runs from before the option used Keras 2's rule
  rmsprop_rule(c.rmsprop);
  if (c.epochs <= 0) c.epochs = j.at("epochs");  // --epochs on resume may extend the run
}

std::string exact(double v) {  // round-trips a double through text
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// set: the image set (Backend::keep_images) the iterator's dataset was kept as, or -1.
Batch to_batch(const HostBatch& h, int set = -1) {
  Batch b;
  b.n = h.n;
  b.images = h.images;
  b.labels = h.labels;
  b.affine = h.affine;
  if (set >= 0) {
    b.images_set = set;
    b.rows = h.rows;
  }
  return b;
}

// Where training stands; everything needed to continue bit-identically.
struct State {
  int epoch = 0, step = 0;  // epoch being trained (0-based) and steps done in it
  Metrics partial;          // train metrics of the steps done in this epoch
  uint64_t train_batches = 0, val_batches = 0;
  double best_val_acc = -1;
  std::vector<EpochRecord> history;
};

// runs/latest as this run set it: put back as it was (destructor) if the run ends without a
// checkpoint (a full disk at the first one, a loss that diverged at once), whatever ends it.
struct LatestGuard {
  LatestMark mark;
  std::string last;  // the run's last.safetensors
  ~LatestGuard() {
    if (!mark.link.empty() && !exists(last)) unmark_latest(mark);
  }
};

// A best epoch's checkpoint not yet on disk. Every later job that writes last.safetensors writes
// it first (once): last.safetensors never claims a best val_acc whose weights are not in
// best.safetensors, whatever job the writer merges and wherever the process dies.
struct PendingBest {
  std::shared_ptr<const Checkpoint> snapshot;
  std::atomic<bool> written{false};
};

struct Run {
  RunLock lock;  // first: held until everything below (the writer's last checkpoint) is done
  LatestGuard latest;  // before the writer: judged once the writer has flushed
  TrainConfig cfg;
  std::string dir;
  NewRunDir made;  // a new run's folder (not a resumed one)
  ModelSpec spec;
  std::unique_ptr<Graph> graph;
  std::unique_ptr<Backend> backend;
  Dataset train, val, test;
  bool has_test = false;

  BackgroundWriter writer;  // checkpoints and per-epoch files go to disk in the background;
                            // flush() before saying they are there

  std::shared_ptr<PendingBest> best;  // the newest best epoch's checkpoint

  // Snapshots the backend (host copies) now; `writer` writes the file.
  void save(const std::string& name, const State& s) { writer.submit(dir + "/" + name, snapshot(s)); }

  // last.safetensors (and best.safetensors first, when `is_best` or an earlier best is still
  // pending) as one job of the writer.
  void save_last(const State& s, bool is_best = false) {
    auto c = std::make_shared<const Checkpoint>(snapshot(s));
    if (is_best) {
      best = std::make_shared<PendingBest>();
      best->snapshot = c;
    }
    const std::string last = dir + "/last.safetensors", best_path = dir + "/best.safetensors";
    writer.submit(last, [last, best_path, c, pending = best] {
      if (pending && !pending->written) {
        save_checkpoint(best_path, *pending->snapshot);
        pending->written = true;
        pause_point("best-written");  // the crash tests' hook: between the two files
      }
      save_checkpoint(last, *c);
    });
  }

  Checkpoint snapshot(const State& s) {
    Checkpoint c;
    c.model = graph->spec();
    c.params = backend->params();
    c.opt_state = backend->opt_state();
    c.meta = {{"train_config", identity(cfg).dump()}, {"epoch", std::to_string(s.epoch)},
              {"step", std::to_string(s.step)}, {"loss_sum", exact(s.partial.loss_sum)},
              {"correct", exact(s.partial.correct)}, {"count", std::to_string(s.partial.count)},
              {"train_batches", std::to_string(s.train_batches)}, {"val_batches", std::to_string(s.val_batches)},
              {"backend_step", std::to_string(backend->step())}, {"best_val_acc", exact(s.best_val_acc)},
              {"history", history_json(s.history)}, {"data", cfg.data}, {"seed", std::to_string(cfg.seed)}, {"classes", json(train.classes).dump()},
              {"image_size", std::to_string(cfg.image_size)}, {"interpolation", cfg.interpolation}};
    return c;
  }
};

bool is_tty() { return isatty(fileno(stdout)); }

// Where a resumed run stands, from its last checkpoint (c) and its settings (cfg, restored).
State restore_state(const Checkpoint& c, const TrainConfig& cfg, int run_epochs, const std::string& file) {
  // Each field parsed whole and range-checked (checkpoint.h): an edited or damaged file is refused
  // by name, never trained from ("Epoch -4/2").
  constexpr long long kMany = 1LL << 62;
  State s;
  s.epoch = int(meta_int(c, "epoch", file, 0, run_epochs));
  s.step = int(meta_int(c, "step", file, 0, cfg.steps_per_epoch));
  s.partial.count = long(meta_int(c, "count", file, 0, (long long)(cfg.steps_per_epoch) * cfg.batch_size));
  s.partial.loss_sum = meta_real(c, "loss_sum", file, 0);
  s.partial.correct = meta_real(c, "correct", file, 0, double(s.partial.count));
  s.train_batches = uint64_t(meta_int(c, "train_batches", file, 0, kMany));
  s.val_batches = uint64_t(meta_int(c, "val_batches", file, 0, kMany));
  s.best_val_acc = meta_real(c, "best_val_acc", file, -1, 1);
  meta_int(c, "backend_step", file, 0, kMany);
  s.history = history_from_json(meta_text(c, "history", file));
  if (s.history.size() != size_t(s.epoch))
    fail(file, ": training state 'history' holds ", s.history.size(), " epochs, not ", s.epoch, "; the file was "
         "damaged or edited and cannot be resumed (put an intact copy back, or start a new run)");
  return s;
}

Dataset load_split_checked(const std::string& root, const char* split, const LoadOptions& o) {
  const std::string dir = root + "/" + split;
  if (!is_dir(dir))
    fail(dir, ": missing; --data needs a folder with train/ and validation/ (each with one sub-folder per class), "
         "e.g. made by scripts/data/make_split.py");
  Dataset d = load_split(dir, o);
  std::printf("%s\n", found_message(d).c_str());
  if (d.skipped) std::printf("(%zu unreadable files in %s were skipped)\n", d.skipped, dir.c_str());
  return d;
}

// Ctrl-C before the first training step (while the photos decode): nothing was trained, so no
// checkpoint is written; a new run takes its folder back with it, a resumed one is as it was.
int stopped_before_training(Run& r, const LoadStopped* loading = nullptr) {
  const std::string when = loading ? ", while decoding " + loading->dir + " (" + std::to_string(loading->decoded) +
                                         " of " + std::to_string(loading->total) + " photos decoded)"
                                   : "";
  if (r.cfg.resume) {
    std::printf("\nInterrupted before training%s: nothing was trained in this session and %s is as it was; continue "
                "with: train_gpu --resume %s\n", when.c_str(), r.dir.c_str(), r.dir.c_str());
  } else {
    const std::string left = discard_new_run_dir(r.made, r.lock) ? r.dir + " was removed"
                                                                  : r.dir + " holds no checkpoint (it counts as empty)";
    std::printf("\nInterrupted before training%s: nothing was trained yet and %s; start the run again with the same "
                "command\n", when.c_str(), left.c_str());
  }
  return 130;
}

}  // namespace

std::unique_ptr<Graph> new_run_model(TrainConfig& cfg) {
  if (cfg.model_json.empty()) return std::make_unique<Graph>(tutorial_model(cfg.image_size));
  const ModelSpec spec = load_keras_json(cfg.model_json);  // names the file itself
  try {
    if (spec.height != spec.width) fail("model input must be square (", spec.height, "x", spec.width, ")");
    if (spec.channels != 3) fail("model input must have 3 channels (RGB photos), not ", spec.channels);
    if (spec.height > 4096)
      fail("model input ", spec.height, "x", spec.width, " is larger than --image-size allows (4096)");
    auto g = std::make_unique<Graph>(spec);
    cfg.image_size = spec.height;
    return g;
  } catch (const Error& e) {  // the Graph's checks know neither the file nor that its input size is fixed
    std::string m = e.what();
    const std::string cli_fix = "use a larger --image-size";
    if (m.size() >= cli_fix.size() && m.compare(m.size() - cli_fix.size(), cli_fix.size(), cli_fix) == 0)
      m.replace(m.size() - cli_fix.size(), cli_fix.size(), "give the model a larger input (batch_input_shape)");
    fail(cfg.model_json, ": ", m);
  }
}

namespace {

// The whole run; cfg is the caller's so that train() can name the run's own sizes (restored on
// --resume) when memory runs out.
int train_run(TrainConfig& cfg) {
  Run r;
  State s;
  std::unique_ptr<Checkpoint> ckpt;
  if (cfg.resume) {
    r.dir = resolve_run_dir(cfg.resume_dir);  // the real folder, not runs/latest
    r.lock.acquire(r.dir, "wait for it to end, or start a separate run with --out");
    if (const size_t n = remove_stale_temporaries(r.dir))
      std::printf("Removed %zu unfinished file%s of a process that was killed\n", n, n == 1 ? "" : "s");
    const std::string last = r.dir + "/last.safetensors";
    if (!exists(last))
      fail(r.dir, ": has no checkpoint yet (last.safetensors; the run stopped before its first epoch ended); start "
           "the run again with --out ", r.dir, ", which reuses the folder");
    ckpt = std::make_unique<Checkpoint>(load_checkpoint(last));
    const int asked_epochs = cfg.epochs;  // --epochs given again, or 0
    int run_epochs = 0;
    try {
      const json settings = json::parse(ckpt->meta.at("train_config"));
      run_epochs = settings.at("epochs");
      restore_identity(cfg, settings);
    } catch (const std::exception& e) {  // a missing key, a value of the wrong type, JSON that does not parse
      fail(last, ": its training settings (train_config) are damaged (", e.what(), "); it cannot be resumed (put an "
           "intact copy back, or start a new run)");
    }
    if (run_epochs < 1 || cfg.steps_per_epoch < 1 || cfg.validation_steps < 0 || cfg.batch_size < 1 ||
        cfg.image_size < 8 || cfg.image_size > 4096)
      fail(last, ": its training settings (train_config) are out of range; it cannot be resumed (put an intact copy "
           "back, or start a new run)");
    s = restore_state(*ckpt, cfg, run_epochs, last);
    if (asked_epochs > 0 && asked_epochs < s.epoch)
      fail("--epochs ", asked_epochs, ": ", r.dir, " has trained ", s.epoch, " epochs already; give --epochs above ",
           s.epoch, " to train it longer, or leave --epochs out to finish its own ", run_epochs);
    if (s.epoch >= cfg.epochs && exists(r.dir + "/results.json")) {
      std::printf("%s finished its %d epochs (results.json): nothing to resume; to train it longer: train_gpu "
                  "--resume %s --epochs %d\n", r.dir.c_str(), s.epoch, r.dir.c_str(), s.epoch + 1);
      return 0;
    }
    if (!is_dir(cfg.data))
      fail(cfg.data, ": the run's data folder is gone; if it moved, resume with --data pointing at its new place");
    r.spec = ckpt->model;
    std::printf("Resuming %s at epoch %d, step %d\n", r.dir.c_str(), s.epoch + 1, s.step);
  } else {
    if (cfg.epochs <= 0 || cfg.steps_per_epoch <= 0 || cfg.validation_steps < 0 || cfg.batch_size <= 0)
      fail("--epochs, --steps-per-epoch and --batch-size must be positive, --validation-steps not negative");
    if (!is_dir(cfg.data))
      fail(cfg.data, ": no such data folder; give --data a folder with train/ and validation/ inside");
    r.graph = new_run_model(cfg);  // a model that does not fit the image size fails before the folder
    r.spec = r.graph->spec();
    r.made = prepare_run_dir(cfg.out.empty() ? default_run_dir("runs") : cfg.out, cfg.force, r.lock);
    r.dir = r.made.path;
    char real[4096];
    if (realpath(cfg.data.c_str(), real)) cfg.data = real;  // checkpoints must find the data from anywhere
    write_file_atomic(r.dir + "/" + kRunMarker, identity(cfg).dump(2) + "\n");
  }
  r.cfg = cfg;
  if (!r.graph) r.graph = std::make_unique<Graph>(r.spec);
  if (ckpt) check_same_architecture(*ckpt, *r.graph, r.dir + "/last.safetensors");
  std::printf("%s", r.graph->summary().c_str());
  std::fflush(stdout);  // a log shows the model while the photos decode

  LoadOptions lo;
  lo.height = lo.width = cfg.image_size;
  lo.interpolation = cfg.interpolation;
  lo.threads = cfg.threads;
  lo.warn = [](const std::string& m) { std::fprintf(stderr, "warning: %s\n", m.c_str()); };
  lo.stop = [] { return stop_requested() != 0; };  // decoding thousands of photos takes seconds
  try {
    r.train = load_split_checked(cfg.data, "train", lo);
    r.val = load_split_checked(cfg.data, "validation", lo);
    r.has_test = is_dir(cfg.data + "/test");
    if (r.has_test) r.test = load_split_checked(cfg.data, "test", lo);
  } catch (const LoadStopped& e) {
    return stopped_before_training(r, &e);
  }
  // Labels are class indices in sorted order: other folder names would silently mean other classes.
  auto same_classes = [&](const Dataset& d, const char* split) {
    if (d.classes != r.train.classes)
      fail(cfg.data, "/", split, ": its classes (", json(d.classes).dump(), ") are not train/'s (",
           json(r.train.classes).dump(), "); name the class folders of every split alike");
  };
  same_classes(r.val, "validation");
  if (r.has_test) same_classes(r.test, "test");
  if (ckpt && ckpt->meta.count("classes") && json::parse(ckpt->meta.at("classes")) != json(r.train.classes))
    fail(cfg.data, ": its classes ", json(r.train.classes).dump(), " are not the run's ", ckpt->meta.at("classes"),
         "; resume with --data pointing at the run's own data");

  BackendOptions bo;
  bo.max_batch = cfg.batch_size;
  bo.lr = cfg.lr;
  bo.rmsprop_rule = rmsprop_rule(cfg.rmsprop);
  bo.eps = bo.rmsprop_rule == RmspropRule::kKeras3 ? 1e-7f : 1e-8f;  // each side's default epsilon
  bo.seed = cfg.seed;
  bo.deterministic = cfg.deterministic;
  bo.tf32 = cfg.tf32;
  bo.conv_search = cfg.cudnn_benchmark;
  std::string warning;
  r.backend = make_backend(cfg.device, *r.graph, bo, &warning);
  if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
  std::printf("Training on %s\n", r.backend->name().c_str());
  if (ckpt) {
    r.backend->set_params(ckpt->params);
    r.backend->set_opt_state(ckpt->opt_state);
    r.backend->set_step(uint64_t(meta_int(*ckpt, "backend_step", r.dir + "/last.safetensors", 0, 1LL << 62)));
  } else {
    r.backend->set_params(init_params(*r.graph, cfg.seed));
  }

  // A GPU keeps the decoded splits in its memory (~200 MB for the tutorial's 3,000 photos): each
  // step then uploads 20 row numbers instead of 1.35 MB of pixels.
  const int train_set = r.backend->keep_images(0, r.train.pixels.data(), r.train.size()) ? 0 : -1;
  const int val_set = r.backend->keep_images(1, r.val.pixels.data(), r.val.size()) ? 1 : -1;

  const AugmentOptions aug = cfg.augment ? AugmentOptions::chollet() : AugmentOptions{};
  BatchIterator train_it(r.train, cfg.batch_size, true, cfg.seed, aug);
  // Shuffled like Keras' flow_from_directory default, so a partial --validation-steps sees both classes.
  BatchIterator val_it(r.val, cfg.batch_size, true, cfg.seed + 1);
  train_it.seek(s.train_batches);
  val_it.seek(s.val_batches);

  if (stop_requested()) return stopped_before_training(r);
  // runs/latest names this run once its data and device are ready, not a start that failed on them.
  if (!cfg.resume) {
    r.latest.mark = mark_latest(r.dir);
    r.latest.last = r.dir + "/last.safetensors";
  }
  if (cfg.validation_steps == 0)
    std::printf("No validation (--validation-steps 0): as Keras' fit() without validation data, no val_loss or "
                "val_acc and no best.safetensors\n");
  const bool live = is_tty();
  for (; s.epoch < cfg.epochs; ++s.epoch, s.step = 0, s.partial = Metrics{}) {
    std::printf("Epoch %d/%d\n", s.epoch + 1, cfg.epochs);
    std::fflush(stdout);
    Progress bar(cfg.steps_per_epoch, live);
    // Loss sums stay on the device; reading them waits for the GPU, so they are read every few
    // steps, at the end of the epoch and before an interrupt's checkpoint. False: diverged.
    auto absorb = [&](int steps_done) {
      const Metrics m = r.backend->take_metrics();
      if (m.count == 0) return true;
      if (!std::isfinite(m.loss_sum)) {
        const int first = steps_done - int((m.count + cfg.batch_size - 1) / cfg.batch_size) + 1;
        const std::string steps = first < steps_done ? std::to_string(first) + "-" + std::to_string(steps_done)
                                                     : std::to_string(steps_done);
        const std::string last = r.dir + "/last.safetensors";
        r.writer.flush();  // an earlier epoch's checkpoint may still be on its way to the disk
        const std::string kept = exists(last) ? "the last good checkpoint is " + last : "no checkpoint was written";
        std::fprintf(stderr, "\nerror: the loss became %s at epoch %d, step %s: training diverged; %s; lower --lr (now %g)\n",
                     std::isnan(m.loss_sum) ? "NaN" : "infinite", s.epoch + 1, steps.c_str(), kept.c_str(),
                     double(cfg.lr));
        return false;
      }
      s.partial.loss_sum += m.loss_sum;
      s.partial.correct += m.correct;
      s.partial.count += m.count;
      return true;
    };
    for (; s.step < cfg.steps_per_epoch; ++s.step) {
      pause_point("train-step", [&] { r.writer.flush(); });
      if (stop_requested()) {
        if (!absorb(s.step)) return 3;
        s.train_batches = train_it.batches_seen();
        s.val_batches = val_it.batches_seen();
        r.save_last(s);
        r.writer.flush();
        std::printf("\nInterrupted at epoch %d, step %d: checkpoint written; continue with: train_gpu --resume %s\n",
                    s.epoch + 1, s.step, r.dir.c_str());
        return 130;
      }
      r.backend->train_step(to_batch(train_it.next(), train_set));
      if ((s.step + 1) % kMetricsEvery != 0 && s.step + 1 != cfg.steps_per_epoch) continue;
      if (!absorb(s.step + 1)) return 3;
      bar.update(s.step + 1, s.partial.loss(), s.partial.acc());
    }
    const uint64_t val_start = val_it.batches_seen();
    for (int v = 0; v < cfg.validation_steps; ++v) {
      pause_point("validation");
      if (stop_requested()) {  // the epoch's steps are done: resume validates this epoch from its start
        State at = s;
        at.step = cfg.steps_per_epoch;
        at.train_batches = train_it.batches_seen();
        at.val_batches = val_start;
        r.save_last(at);
        r.writer.flush();
        std::printf("\nInterrupted at epoch %d, during validation (%d of %d batches done): checkpoint written; "
                    "continue with: train_gpu --resume %s\n", s.epoch + 1, v, cfg.validation_steps, r.dir.c_str());
        return 130;
      }
      r.backend->eval_step(to_batch(val_it.next(), val_set));
    }
    const Metrics vm = r.backend->take_metrics();
    const double none = std::numeric_limits<double>::quiet_NaN();  // no validation: no val metrics
    const bool validated = cfg.validation_steps > 0;
    EpochRecord rec{s.epoch + 1,  s.partial.loss(), s.partial.acc(), validated ? vm.loss() : none,
                    validated ? vm.acc() : none, bar.elapsed()};
    std::string extra;
    if (cfg.validation_steps > 0) extra = format_metric("val_loss", rec.val_loss) + format_metric("val_acc", rec.val_acc);
    bar.finish(cfg.steps_per_epoch, rec.loss, rec.acc, extra);
    s.history.push_back(rec);
    // The state after this epoch: the next one starts at step 0.
    State next = s;
    next.epoch = s.epoch + 1;
    next.step = 0;
    next.partial = Metrics{};
    next.train_batches = train_it.batches_seen();
    next.val_batches = val_it.batches_seen();
    const bool best = cfg.validation_steps > 0 && rec.val_acc > s.best_val_acc;
    if (best) next.best_val_acc = rec.val_acc;
    r.save_last(next, best);
    const std::string csv_path = r.dir + "/history.csv", png_path = r.dir + "/curves.png";
    r.writer.submit(csv_path, [csv_path, csv = history_csv(next.history)] { write_file_atomic(csv_path, csv); });
    if (cfg.plot_curves)
      r.writer.submit(png_path, [png_path, plot = cfg.plot_curves, h = next.history] { plot(png_path, h); });
    s.best_val_acc = next.best_val_acc;
  }
  State done = s;
  done.train_batches = train_it.batches_seen();
  done.val_batches = val_it.batches_seen();
  r.save("final.safetensors", done);

  const bool validated = cfg.validation_steps > 0;
  json results = {{"epochs", s.history.size()}, {"best_val_acc", validated ? json(s.best_val_acc) : json(nullptr)}};
  if (!s.history.empty()) {
    const EpochRecord& last = s.history.back();
    results["final"] = {{"loss", last.loss}, {"acc", last.acc}};
    if (validated) {
      results["final"]["val_loss"] = last.val_loss;
      results["final"]["val_acc"] = last.val_acc;
    }
  }
  if (r.has_test && r.test.size() > 0) {
    BatchIterator test_it(r.test, cfg.batch_size, false, cfg.seed);
    const size_t steps = (r.test.size() + size_t(cfg.batch_size) - 1) / size_t(cfg.batch_size);
    for (size_t i = 0; i < steps; ++i) {
      pause_point("test-evaluation");
      if (stop_requested()) {  // last.safetensors holds the trained model: --resume runs only this evaluation again
        r.writer.flush();
        std::printf("Interrupted during the test evaluation (%zu of %zu batches done): the trained model is in "
                    "%s/final.safetensors; finish the evaluation (results.json) with: train_gpu --resume %s\n", i,
                    steps, r.dir.c_str(), r.dir.c_str());
        return 130;
      }
      r.backend->eval_step(to_batch(test_it.next()));
    }
    const Metrics tm = r.backend->take_metrics();
    std::printf("test_loss: %.4f - test_acc: %.4f (%ld images)\n", tm.loss(), tm.acc(), tm.count);
    results["test"] = {{"loss", tm.loss()}, {"acc", tm.acc()}, {"images", tm.count}};
  }
  write_file_atomic(r.dir + "/results.json", results.dump(2) + "\n");
  r.writer.flush();  // the checkpoints are on disk before the run says it is done
  std::printf("Run folder: %s\n", r.dir.c_str());
  return 0;
}

}  // namespace

int train(TrainConfig cfg) {
  try {
    return train_run(cfg);
  } catch (const std::bad_alloc&) {  // the run (its activations, images, checkpoints) is freed by now
    const std::string model = cfg.model_json.empty() ? "" : " of the model " + cfg.model_json;
    fail("out of memory training on batches of ", cfg.batch_size, " images of ", cfg.image_size, "x", cfg.image_size,
         model, "; start a run with a smaller --batch-size, --image-size", model.empty() ? "" : " or model",
         ", or free memory");
  }
}

}  // namespace acts
