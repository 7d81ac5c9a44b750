// The Backend interface's shared half: batch checks and the op profile.
#include "runtime/core/backend.h"

#include "runtime/core/errors.h"

namespace acts {

void Backend::check_batch(const Batch& b, bool need_labels) const {
  if (b.n <= 0 || b.n > opt_.max_batch)
    fail("batch of ", b.n, " images does not fit this backend (allocated for at most ", opt_.max_batch, ")");
  if (!b.images && !b.inputs) fail("batch has neither images nor inputs");
  if (b.images && b.inputs) fail("batch has both images and inputs; set one");
  if (b.affine && !b.images) fail("augmentation (affine) needs uint8 images");
  if (b.rows && !b.images) fail("batch names image-set rows without the images themselves");
  if (need_labels && !b.labels) fail("batch has no labels");
}

std::vector<OpTime> Backend::profile_train_step(const Batch& b) {
  std::unique_ptr<OpClock> clock = make_op_clock();
  clock->start();
  clock_ = clock.get();
  try {
    forward(b, true);
    backward(b);
    update();
  } catch (...) {
    clock_ = nullptr;
    throw;
  }
  clock_ = nullptr;
  return clock->finish();
}

}  // namespace acts
