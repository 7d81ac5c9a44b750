#include "trainer.h"

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
#include "stop.h"
#include "runtime/atomic_file.h"
#include "runtime/backend.h"
#include "runtime/checkpoint.h"
#include "runtime/data/dataset.h"
#include "runtime/errors.h"

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

struct Run {
  RunLock lock;  // first: held until everything below (the writer's last checkpoint) is done
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

  // Snapshots the backend (host copies) now; `writer` writes the file.
  void save(const std::string& name, const State& s) {
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
    writer.submit(dir + "/" + name, std::move(c));
  }
};

bool is_tty() { return isatty(fileno(stdout)); }

Dataset load_split_checked(const std::string& root, const char* split, const LoadOptions& o) {
  const std::string dir = root + "/" + split;
  if (!is_dir(dir))
    fail(dir, ": missing; --data needs a folder with train/ and validation/ (each with one sub-folder per class), "
         "e.g. made by scripts/make_split.py");
  Dataset d = load_split(dir, o);
  std::printf("%s\n", found_message(d).c_str());
  if (d.skipped) std::printf("(%zu unreadable files in %s were skipped)\n", d.skipped, dir.c_str());
  return d;
}

// Ctrl-C before the first training step (while the photos decode): nothing was trained, so no
// checkpoint is written; a new run takes its folder back with it, a resumed one is as it was.
int stopped_before_training(Run& r) {
  if (r.cfg.resume) {
    std::printf("\nInterrupted before training: nothing was trained in this session and %s is as it was; continue "
                "with: train_gpu --resume %s\n", r.dir.c_str(), r.dir.c_str());
  } else {
    const std::string left = discard_new_run_dir(r.made, r.lock) ? r.dir + " was removed"
                                                                  : r.dir + " holds no checkpoint (it counts as empty)";
    std::printf("\nInterrupted before training: nothing was trained yet and %s; start the run again with the same "
                "command\n", left.c_str());
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
    // Each field's own message names it (the library's "stoi" named none).
    constexpr long long kInt = std::numeric_limits<int>::max(), kLong = std::numeric_limits<long long>::max();
    s.epoch = int(meta_int(*ckpt, "epoch", last, -kInt - 1, kInt));
    s.step = int(meta_int(*ckpt, "step", last, -kInt - 1, kInt));
    s.partial.loss_sum = meta_real(*ckpt, "loss_sum", last);
    s.partial.correct = meta_real(*ckpt, "correct", last);
    s.partial.count = meta_int(*ckpt, "count", last, -kLong - 1, kLong);
    s.train_batches = uint64_t(meta_int(*ckpt, "train_batches", last, 0, kLong));
    s.val_batches = uint64_t(meta_int(*ckpt, "val_batches", last, 0, kLong));
    s.best_val_acc = meta_real(*ckpt, "best_val_acc", last);
    try {
      restore_identity(cfg, json::parse(meta_text(*ckpt, "train_config", last)));
      s.history = history_from_json(meta_text(*ckpt, "history", last));
    } catch (const Error&) {
      throw;
    } catch (const std::exception&) {  // JSON of the wrong shape
      fail(last, ": training state fields train_config and history are not what train_gpu writes; it cannot be "
           "resumed");
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
  } catch (const LoadStopped&) {
    return stopped_before_training(r);
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
    r.backend->set_step(uint64_t(meta_int(*ckpt, "backend_step", r.dir + "/last.safetensors", 0,
                                          std::numeric_limits<long long>::max())));
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
  if (!cfg.resume) mark_latest(r.dir);
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
      if (stop_requested()) {
        if (!absorb(s.step)) return 3;
        s.train_batches = train_it.batches_seen();
        s.val_batches = val_it.batches_seen();
        r.save("last.safetensors", s);
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
      if (stop_requested()) {  // the epoch's steps are done: resume validates this epoch from its start
        State at = s;
        at.step = cfg.steps_per_epoch;
        at.train_batches = train_it.batches_seen();
        at.val_batches = val_start;
        r.save("last.safetensors", at);
        r.writer.flush();
        std::printf("\nInterrupted at epoch %d, during validation: checkpoint written; continue with: train_gpu "
                    "--resume %s\n", s.epoch + 1, r.dir.c_str());
        return 130;
      }
      r.backend->eval_step(to_batch(val_it.next(), val_set));
    }
    const Metrics vm = r.backend->take_metrics();
    EpochRecord rec{s.epoch + 1, s.partial.loss(), s.partial.acc(), vm.loss(), vm.acc(), bar.elapsed()};
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
    r.save("last.safetensors", next);
    if (best) r.save("best.safetensors", next);
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

  json results = {{"epochs", s.history.size()}, {"best_val_acc", s.best_val_acc}};
  if (!s.history.empty()) {
    const EpochRecord& last = s.history.back();
    results["final"] = {{"loss", last.loss}, {"acc", last.acc}, {"val_loss", last.val_loss}, {"val_acc", last.val_acc}};
  }
  if (r.has_test && r.test.size() > 0) {
    BatchIterator test_it(r.test, cfg.batch_size, false, cfg.seed);
    const size_t steps = (r.test.size() + size_t(cfg.batch_size) - 1) / size_t(cfg.batch_size);
    for (size_t i = 0; i < steps; ++i) {
      if (stop_requested()) {  // last.safetensors holds the trained model: --resume runs only this evaluation again
        r.writer.flush();
        std::printf("Interrupted during the test evaluation: the trained model is in %s/final.safetensors; "
                    "finish the evaluation (results.json) with: train_gpu --resume %s\n", r.dir.c_str(), r.dir.c_str());
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
