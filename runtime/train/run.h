// A training run in progress, as trainer.cpp's phases and the epoch loop share it: its folder
// (locked), model, data, backend and checkpoint writer (Run), where training stands (State), and
// how a state becomes a checkpoint. Internal to runtime/train.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "background_writer.h"
#include "channel_stats.h"
#include "history.h"
#include "run_dir.h"
#include "runtime/core/backend.h"
#include "runtime/core/checkpoint.h"
#include "runtime/data/dataset.h"
#include "trainer.h"

namespace acts::training {

// An exit code when the run ends in a phase (0 done, 3 diverged, 130 interrupted), empty when it
// goes on to the next phase.
using Ending = std::optional<int>;

// What defines a run: stored in run.json and every checkpoint, restored by --resume.
nlohmann::json identity(const TrainConfig& c);

// scale: the input rescale (TrainConfig::rescale); set: the image set (Backend::keep_images) the
// iterator's dataset was kept as, or -1.
Batch to_batch(const HostBatch& h, float scale, int set = -1);

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
  std::unique_ptr<Checkpoint> initial;  // a new run's weights from a Keras file (else freshly drawn)
  std::unique_ptr<Backend> backend;
  Dataset train, val, test;
  bool has_test = false;

  BackgroundWriter writer;  // checkpoints and per-epoch files go to disk in the background;
                            // flush() before saying they are there

  std::shared_ptr<PendingBest> best;  // the newest best epoch's checkpoint
  std::unique_ptr<ChannelStats> stats;  // per-channel statistics of the probe photos

  // One record of the channel statistics (epoch 1-based, its steps done). Written (stats/,
  // stats.html) just before the next last.safetensors, so the records on disk never lag behind
  // the checkpoint a resume starts from (it cuts back any that run ahead), and a start that fails
  // before its first checkpoint leaves nothing but run.json.
  void record_stats(int epoch, int step);

  // epochs/epoch_NNN.safetensors (--keep-every): the weights after epoch s.epoch, without the
  // optimizer state (for dump_acts, not for resuming: last.safetensors is that).
  void save_kept(const State& s);
  // final.safetensors and model.keras (for Keras' load_model; where the build writes Keras files)
  // from one snapshot of the backend, as one job of the writer: a failure is reported once.
  void save_final(const State& s);
  // last.safetensors (and best.safetensors first, when `is_best` or an earlier best is still
  // pending) as one job of the writer.
  void save_last(const State& s, bool is_best = false);
  // Host copies of the weights (and, `with_optimizer`, the optimizer state: a GPU copy of 13.8 MB
  // the kept epochs do without) and the run's metadata.
  Checkpoint snapshot(const State& s, bool with_optimizer = true);
};

}  // namespace acts::training
