// The epochs of a run: each one's training steps, its validation, and the checkpoint and files
// at its end, with Keras' progress output; Ctrl-C between steps or validation batches writes
// last.safetensors and ends the run with 130, a diverging loss ends it with 3. Internal to
// runtime/train (trainer.cpp runs it).
#pragma once
#include <cstdint>

#include "progress.h"
#include "run.h"

namespace acts::training {

// The epochs left of a run (from s). Holds the batch iterators, whose positions (batches seen)
// every checkpoint records.
class EpochLoop {
 public:
  EpochLoop(Run& r, State& s);
  Ending run();
  State done() const;  // the state after the last epoch, as final.safetensors records it

 private:
  bool absorb(int steps_done);
  Ending train_steps(Progress& bar);
  int interrupted_in_training();
  Ending validate();
  int interrupted_in_validation(int done, uint64_t val_start);
  EpochRecord end_epoch(Progress& bar, const Metrics& vm);
  void save_epoch(const EpochRecord& rec);

  Run& r_;
  State& s_;
  const TrainConfig& cfg_;
  // A GPU keeps the decoded splits in its memory (~200 MB for the tutorial's 3,000 photos): each
  // step then uploads 20 row numbers instead of 1.35 MB of pixels. -1: not kept.
  const int train_set_, val_set_;
  BatchIterator train_it_, val_it_;
};

}  // namespace acts::training
