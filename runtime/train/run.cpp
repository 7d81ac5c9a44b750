#include "run.h"

#include <cstdio>
#include <filesystem>
#include <functional>

#include "runtime/core/stop_request.h"
#include "runtime/keras/keras_file.h"

namespace acts::training {
using json = nlohmann::json;

namespace {

std::string exact(double v) {  // round-trips a double through text
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

json identity(const TrainConfig& c) {
  return {{"data", c.data},
          {"model_json", c.model_json},
          {"epochs", c.epochs},
          {"steps_per_epoch", c.steps_per_epoch},
          {"validation_steps", c.validation_steps},
          {"batch_size", c.batch_size},
          {"image_size", c.image_size},
          {"lr", c.lr},
          {"rescale", c.rescale},
          {"augment", c.augment},
          {"seed", c.seed},
          {"interpolation", c.interpolation},
          {"rmsprop", c.rmsprop},
          {"optimizer", c.optimizer},
          {"class_mode", c.class_mode},
          {"stats_probe", c.stats_probe},
          {"stats_every", c.stats_every},
          {"keep_every", c.keep_every},
          {"precision", c.precision}};
}

Batch to_batch(const HostBatch& h, float scale, int set) {
  Batch b;
  b.n = h.n;
  b.scale = scale;
  b.images = h.images;
  b.labels = h.labels;
  b.affine = h.affine;
  if (set >= 0) {
    b.images_set = set;
    b.rows = h.rows;
  }
  return b;
}

void Run::record_stats(int epoch, int step) {
  if (stats) stats->record(*backend, cfg.batch_size, epoch, step);
}

void Run::save_last(const State& s, bool is_best) {
  auto c = std::make_shared<const Checkpoint>(snapshot(s));
  if (is_best) {
    best = std::make_shared<PendingBest>();
    best->snapshot = c;
  }
  const std::string last = dir + "/last.safetensors", best_path = dir + "/best.safetensors";
  // The statistics first: killed between the two, the records on disk run ahead of the
  // checkpoint, and a resume cuts them back to it (never the other way round).
  std::function<void()> stats_files = stats ? stats->writer(dir, s.history) : std::function<void()>([] {});
  writer.submit(last, [last, best_path, c, pending = best, stats_files] {
    stats_files();
    if (pending && !pending->written) {
      save_checkpoint(best_path, *pending->snapshot);
      pending->written = true;
      pause_point("best-written");  // the crash tests' hook: between the two files
    }
    save_checkpoint(last, *c);
  });
}

void Run::save_kept(const State& s) {
  auto c = std::make_shared<Checkpoint>(snapshot(s, /*with_optimizer=*/false));
  char name[64];
  std::snprintf(name, sizeof name, "/epochs/epoch_%03d.safetensors", s.epoch);
  const std::string path = dir + name, folder = dir + "/epochs";
  writer.submit(path, [path, folder, c] {
    std::filesystem::create_directories(folder);
    save_checkpoint(path, *c);
  });
}

void Run::save_final(const State& s) {
  auto c = std::make_shared<const Checkpoint>(snapshot(s));
  const std::string final_path = dir + "/final.safetensors", keras_path = dir + "/model.keras";
  writer.submit(final_path, [final_path, keras_path, c] {
    save_checkpoint(final_path, *c);
    if (keras_files_supported()) save_keras_model(keras_path, *c);
  });
}

Checkpoint Run::snapshot(const State& s, bool with_optimizer) {
  Checkpoint c;
  c.model = graph->spec();
  c.params = backend->params();
  if (with_optimizer) c.opt_state = backend->opt_state();
  c.meta = {{"train_config", identity(cfg).dump()},
            {"epoch", std::to_string(s.epoch)},
            {"step", std::to_string(s.step)},
            {"loss_sum", exact(s.partial.loss_sum)},
            {"correct", exact(s.partial.correct)},
            {"count", std::to_string(s.partial.count)},
            {"train_batches", std::to_string(s.train_batches)},
            {"val_batches", std::to_string(s.val_batches)},
            {"backend_step", std::to_string(backend->step())},
            {"optimizer", cfg.optimizer},
            {"optimizer_iterations", std::to_string(backend->opt_iterations())},
            {"best_val_acc", exact(s.best_val_acc)},
            {"history", history_json(s.history)},
            {"data", cfg.data},
            {"seed", std::to_string(cfg.seed)},
            {"classes", json(train.classes).dump()},
            {"image_size", std::to_string(cfg.image_size)},
            {"interpolation", cfg.interpolation},
            {"rescale", exact(cfg.rescale)}};
  return c;
}

}  // namespace acts::training
