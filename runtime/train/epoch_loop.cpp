#include "epoch_loop.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "runtime/core/atomic_file.h"
#include "runtime/core/stop_request.h"

namespace acts::training {

namespace {

constexpr int kMetricsEvery = 10;  // steps between reads of the running loss/accuracy

bool is_tty() { return isatty(fileno(stdout)); }

}  // namespace

EpochLoop::EpochLoop(Run& r, State& s)
    : r_(r),
      s_(s),
      cfg_(r.cfg),
      train_set_(r.backend->keep_images(0, r.train.pixels.data(), r.train.size()) ? 0 : -1),
      val_set_(r.backend->keep_images(1, r.val.pixels.data(), r.val.size()) ? 1 : -1),
      train_it_(r.train, cfg_.batch_size, true, cfg_.seed,
                cfg_.augment ? AugmentOptions::chollet() : AugmentOptions{}),
      // Shuffled like Keras' flow_from_directory default, so a partial --validation-steps sees both classes.
      val_it_(r.val, cfg_.batch_size, true, cfg_.seed + 1) {
  train_it_.seek(s_.train_batches);
  val_it_.seek(s_.val_batches);
}

Ending EpochLoop::run() {
  if (cfg_.validation_steps == 0)
    std::printf("No validation (--validation-steps 0): as Keras' fit() without validation data, no val_loss or "
                "val_acc and no best.safetensors\n");
  const bool live = is_tty();
  for (; s_.epoch < cfg_.epochs; ++s_.epoch, s_.step = 0, s_.partial = Metrics{}) {
    std::printf("Epoch %d/%d\n", s_.epoch + 1, cfg_.epochs);
    std::fflush(stdout);
    Progress bar(cfg_.steps_per_epoch, live);
    if (const Ending e = train_steps(bar)) return e;
    if (const Ending e = validate()) return e;
    save_epoch(end_epoch(bar, r_.backend->take_metrics()));
  }
  return {};
}

State EpochLoop::done() const {
  State d = s_;
  d.train_batches = train_it_.batches_seen();
  d.val_batches = val_it_.batches_seen();
  return d;
}

// Adds the metrics of the steps since the last call to the epoch's. Loss sums stay on the device;
// reading them waits for the GPU, so they are read every few steps, at the end of the epoch and
// before an interrupt's checkpoint. False: the loss diverged (said on stderr).
bool EpochLoop::absorb(int steps_done) {
  const Metrics m = r_.backend->take_metrics();
  if (m.count == 0) return true;
  if (!std::isfinite(m.loss_sum)) {
    const int first = steps_done - int((m.count + cfg_.batch_size - 1) / cfg_.batch_size) + 1;
    const std::string steps = first < steps_done ? std::to_string(first) + "-" + std::to_string(steps_done)
                                                 : std::to_string(steps_done);
    const std::string last = r_.dir + "/last.safetensors";
    r_.writer.flush();  // an earlier epoch's checkpoint may still be on its way to the disk
    const std::string kept = exists(last) ? "the last good checkpoint is " + last : "no checkpoint was written";
    std::fprintf(stderr,
                 "\nerror: the loss became %s at epoch %d, step %s: training diverged; %s; lower --lr (now %g)\n",
                 std::isnan(m.loss_sum) ? "NaN" : "infinite", s_.epoch + 1, steps.c_str(), kept.c_str(),
                 double(cfg_.lr));
    return false;
  }
  s_.partial.loss_sum += m.loss_sum;
  s_.partial.correct += m.correct;
  s_.partial.count += m.count;
  return true;
}

// The epoch's training steps from s_.step on. Ends with 130 on Ctrl-C, 3 when the loss diverges.
Ending EpochLoop::train_steps(Progress& bar) {
  for (; s_.step < cfg_.steps_per_epoch; ++s_.step) {
    pause_point("train-step", [&] { r_.writer.flush(); });
    if (stop_requested()) return interrupted_in_training();
    r_.backend->train_step(to_batch(train_it_.next(), r_.cfg.rescale, train_set_));
    if (cfg_.stats_every > 0 && (s_.step + 1) % cfg_.stats_every == 0 && s_.step + 1 != cfg_.steps_per_epoch)
      r_.record_stats(s_.epoch + 1, s_.step + 1);
    if ((s_.step + 1) % kMetricsEvery != 0 && s_.step + 1 != cfg_.steps_per_epoch) continue;
    if (!absorb(s_.step + 1)) return 3;
    bar.update(s_.step + 1, s_.partial.loss(), s_.partial.acc());
  }
  return {};
}

// Ctrl-C between two training steps: the steps done so far, with their metrics, go into
// last.safetensors, and resume continues at the next one.
int EpochLoop::interrupted_in_training() {
  if (!absorb(s_.step)) return 3;
  s_.train_batches = train_it_.batches_seen();
  s_.val_batches = val_it_.batches_seen();
  r_.save_last(s_);
  r_.writer.flush();
  std::printf("\nInterrupted at epoch %d, step %d: checkpoint written; continue with: train_gpu --resume %s\n",
              s_.epoch + 1, s_.step, r_.dir.c_str());
  return 130;
}

// The epoch's validation batches; their metrics wait in the backend. Ends with 130 on Ctrl-C.
Ending EpochLoop::validate() {
  const uint64_t val_start = val_it_.batches_seen();
  for (int v = 0; v < cfg_.validation_steps; ++v) {
    pause_point("validation");
    if (stop_requested()) return interrupted_in_validation(v, val_start);
    r_.backend->eval_step(to_batch(val_it_.next(), r_.cfg.rescale, val_set_));
  }
  return {};
}

// Ctrl-C during validation: the epoch's steps are done, so resume validates this epoch from its
// start (the validation iterator back where it was).
int EpochLoop::interrupted_in_validation(int done, uint64_t val_start) {
  State at = s_;
  at.step = cfg_.steps_per_epoch;
  at.train_batches = train_it_.batches_seen();
  at.val_batches = val_start;
  r_.save_last(at);
  r_.writer.flush();
  std::printf("\nInterrupted at epoch %d, during validation (%d of %d batches done): checkpoint written; "
              "continue with: train_gpu --resume %s\n", s_.epoch + 1, done, cfg_.validation_steps, r_.dir.c_str());
  return 130;
}

// The epoch's record (vm: its validation metrics), its last progress line, and its place in the
// history.
EpochRecord EpochLoop::end_epoch(Progress& bar, const Metrics& vm) {
  const double none = std::numeric_limits<double>::quiet_NaN();  // no validation: no val metrics
  const bool validated = cfg_.validation_steps > 0;
  EpochRecord rec{s_.epoch + 1,  s_.partial.loss(), s_.partial.acc(), validated ? vm.loss() : none,
                  validated ? vm.acc() : none, bar.elapsed()};
  std::string extra;
  if (validated) extra = format_metric("val_loss", rec.val_loss) + format_metric("val_acc", rec.val_acc);
  bar.finish(cfg_.steps_per_epoch, rec.loss, rec.acc, extra);
  s_.history.push_back(rec);
  return rec;
}

// The end of an epoch on disk (in the background): last.safetensors for the state after it (the
// next epoch at step 0), best.safetensors first when its val_acc is the best yet, history.csv
// and curves.png.
void EpochLoop::save_epoch(const EpochRecord& rec) {
  State next = s_;
  next.epoch = s_.epoch + 1;
  next.step = 0;
  next.partial = Metrics{};
  next.train_batches = train_it_.batches_seen();
  next.val_batches = val_it_.batches_seen();
  const bool best = cfg_.validation_steps > 0 && rec.val_acc > s_.best_val_acc;
  if (best) next.best_val_acc = rec.val_acc;
  r_.record_stats(s_.epoch + 1, cfg_.steps_per_epoch);
  if (cfg_.keep_every > 0 && next.epoch % cfg_.keep_every == 0) r_.save_kept(next);
  r_.save_last(next, best);
  const std::string csv_path = r_.dir + "/history.csv", png_path = r_.dir + "/curves.png";
  r_.writer.submit(csv_path, [csv_path, csv = history_csv(next.history)] { write_file_atomic(csv_path, csv); });
  if (cfg_.plot_curves)
    r_.writer.submit(png_path, [png_path, plot = cfg_.plot_curves, h = next.history] { plot(png_path, h); });
  s_.best_val_acc = next.best_val_acc;
}

}  // namespace acts::training
