// Issue 22's per-channel statistics while training: a fixed probe set of photos (by default 32
// validation photos, drawn by the run's seed; training photos when there is no validation) goes
// through the network in inference mode at the end of every epoch (and every N steps on request),
// and for every layer and channel the backend sums the output where it lies (the GPU's stays on
// the GPU): mean, standard deviation, fraction of exact zeros, maximum, and the change of the mean
// since the previous record. A channel is dead when it is zero on every probe photo at every
// position, collapsed when it is not dead and its standard deviation is under 1e-3 of the median
// of its layer's other live channels (or exactly 0).
//
// In the run folder: stats/<layer>.npy, float32 (records, channels, 5) in kFields' order,
// stats/index.json (the records' epoch and step, the layers, the dead and collapsed counts per
// record, the probe photos) and stats.html (loss curves, then per layer every channel's mean over
// the records with dead and collapsed channels marked). A resumed run reads its records back and
// goes on from where its checkpoint stands.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "history.h"
#include "runtime/core/backend.h"
#include "runtime/core/graph.h"
#include "runtime/data/dataset.h"

namespace acts::training {

constexpr int kStatFields = 5;
inline const char* const kFields[kStatFields] = {"mean", "std", "zero_fraction", "max", "change"};

// A channel's verdict in one record.
enum class ChannelState { kLive, kDead, kCollapsed };

// One layer's statistics of one record from its sums (4 * channels: kernels/cpu/channel_stats.h),
// `rows` values per channel; `previous`: the layer's last record (its means give the change), or
// empty. Returns channels * kStatFields floats.
std::vector<float> stats_from_sums(const std::vector<double>& sums, double rows, const std::vector<float>& previous);
// Per channel, the verdict on one record's statistics (channels * kStatFields).
std::vector<ChannelState> channel_states(const std::vector<float>& stats);

class ChannelStats {
 public:
  // probe: how many photos (0: no statistics); the probe set is drawn from `val` (or `train` when
  // `val` is empty) by `seed`. scale: the run's input rescale.
  ChannelStats(const Graph& g, const Dataset& train, const Dataset& val, int probe, uint64_t seed, float scale);
  bool enabled() const { return !layers_.empty() && probe_n_ > 0; }

  // Runs the probe set through `be` (inference) and appends one record: epoch 1-based, step the
  // training steps done in it.
  void record(Backend& be, int max_batch, int epoch, int step);
  // A resumed run: the records of `dir` up to (epoch, step) are read back; a missing or damaged
  // stats/ folder starts the records afresh, with a warning.
  void resume(const std::string& dir, int epoch, int step);
  // stats/ and stats.html as they stand, with the run's history for the loss curves: the writes,
  // each atomic, as one function the caller may run in the background.
  std::function<void()> writer(const std::string& dir, const std::vector<EpochRecord>& history) const;

  struct Layer {
    std::string name, keras_class;
    int node = 0, channels = 0;
    std::vector<float> records;        // (records, channels, kStatFields)
    std::vector<int> dead, collapsed;  // per record
  };
  const std::vector<Layer>& layers() const { return layers_; }
  const std::vector<std::pair<int, int>>& marks() const { return marks_; }  // (epoch, step) per record

 private:
  std::vector<Layer> layers_;
  std::vector<std::pair<int, int>> marks_;
  std::vector<uint8_t> probe_;  // (probe_n_, H, W, 3)
  std::vector<std::string> probe_files_;
  std::string probe_split_;
  int probe_n_ = 0;
  float scale_ = 1.f / 255.f;
};

}  // namespace acts::training
