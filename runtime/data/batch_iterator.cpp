// BatchIterator (dataset.h): keras_preprocessing's Iterator order and batch sizes, per-image
// affine parameters, and one background thread that prepares batch k + 1 while the caller
// works on batch k. Two buffers: the caller's batch and the one being prepared.
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "augment_params.h"
#include "dataset.h"
#include "runtime/core/errors.h"
#include "shuffle.h"

namespace acts {

namespace {

constexpr uint64_t kNone = ~uint64_t(0);

struct Slot {
  uint64_t id = kNone;  // which batch it holds (kNone: being written or empty)
  int n = 0;
  std::vector<uint8_t> images;  // (n, H, W, 3)
  std::vector<float> labels;    // (n)
  std::vector<float> affine;    // (n, 6) when augmenting
  std::vector<uint32_t> rows;   // (n) dataset indices
};

}  // namespace

struct BatchIterator::Impl {
  const Dataset& d;
  const int batch;
  const bool shuffle;
  const uint64_t seed;
  const AugmentOptions aug;
  const uint64_t per_epoch;  // ceil(n / batch)

  // Worker-only state: the order of the data epoch it last built from.
  uint64_t order_epoch = kNone;
  std::vector<uint32_t> order;

  std::mutex mu;
  std::condition_variable cv;
  Slot slots[2];
  uint64_t seen = 0;         // batches handed out; the iterator's whole state
  uint64_t pending = kNone;  // batch the worker should build next
  bool busy = false, stop = false;
  std::exception_ptr error;
  std::thread worker;

  Impl(const Dataset& ds, int b, bool sh, uint64_t s, const AugmentOptions& a)
      : d(ds), batch(b), shuffle(sh), seed(s), aug(a), per_epoch((ds.size() + b - 1) / b) {}

  // Keras: np.random.seed(seed + total_batches_seen) at the first batch of each data epoch.
  const std::vector<uint32_t>& order_of(uint64_t epoch) {
    if (epoch != order_epoch) {
      if (shuffle) {
        order = numpy_permutation(d.size(), uint32_t(seed + epoch * per_epoch));
      } else {
        order.resize(d.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = uint32_t(i);
      }
      order_epoch = epoch;
    }
    return order;
  }

  void build(uint64_t k, Slot& s) {
    const uint64_t epoch = k / per_epoch, first = (k % per_epoch) * batch;
    const std::vector<uint32_t>& idx = order_of(epoch);
    s.n = int(std::min<uint64_t>(batch, d.size() - first));  // Keras' short last batch
    const size_t img = size_t(d.height) * d.width * 3;
    s.images.resize(s.n * img);
    s.labels.resize(s.n);
    s.affine.resize(aug.any() ? s.n * 6 : 0);
    s.rows.assign(idx.begin() + first, idx.begin() + first + s.n);
    for (int i = 0; i < s.n; ++i) {
      const uint32_t j = idx[first + i];
      std::memcpy(s.images.data() + i * img, d.image(j), img);
      s.labels[i] = d.labels[j];
      if (aug.any()) {
        const uint64_t global = epoch * d.size() + first + i;  // the image's place in the whole stream
        affine_matrix(random_affine_params(aug, d.height, d.width, seed, global), d.height, d.width,
                      s.affine.data() + i * 6);
      }
    }
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || pending != kNone; });
      if (stop) return;
      const uint64_t k = pending;
      pending = kNone;
      busy = true;
      Slot& s = slots[k % 2];
      s.id = kNone;
      lock.unlock();
      std::exception_ptr e;
      try {
        build(k, s);
      } catch (...) {
        e = std::current_exception();
      }
      lock.lock();
      busy = false;
      if (e)
        error = e;
      else
        s.id = k;
      cv.notify_all();
    }
  }
};

BatchIterator::BatchIterator(const Dataset& d, int batch_size, bool shuffle, uint64_t seed, const AugmentOptions& aug) {
  if (d.size() == 0) fail(d.root, ": the dataset has no images to iterate over");
  if (batch_size <= 0) fail("batch size must be positive (got ", batch_size, ")");
  if (d.pixels.size() != d.size() * size_t(d.height) * d.width * 3)
    fail(d.root, ": dataset pixels do not match its ", d.size(), " images of ", d.height, "x", d.width, "x3");
  impl_ = new Impl(d, batch_size, shuffle, seed, aug);
  impl_->pending = 0;  // start preparing the first batch at once
  impl_->worker = std::thread([this] { impl_->run(); });
}

BatchIterator::~BatchIterator() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->worker.join();
  delete impl_;
}

HostBatch BatchIterator::next() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  const uint64_t k = m.seen;
  Slot& s = m.slots[k % 2];
  if (s.id != k && m.pending != k && !m.busy) {  // nothing under way for k (should not happen)
    m.pending = k;
    m.cv.notify_all();
  }
  m.cv.wait(lock, [&] { return s.id == k || m.error; });
  if (m.error) std::rethrow_exception(m.error);
  m.seen = k + 1;
  m.pending = k + 1;  // prefetch into the other slot while the caller uses this one
  m.cv.notify_all();
  HostBatch b;
  b.n = s.n;
  b.images = s.images.data();
  b.labels = s.labels.data();
  b.affine = s.affine.empty() ? nullptr : s.affine.data();
  b.rows = s.rows.data();
  return b;
}

uint64_t BatchIterator::batches_seen() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->seen;
}

uint64_t BatchIterator::batches_per_epoch() const { return impl_->per_epoch; }

void BatchIterator::seek(uint64_t batches_seen) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  m.cv.wait(lock, [&] { return !m.busy; });
  m.slots[0].id = m.slots[1].id = kNone;
  m.seen = batches_seen;
  m.pending = batches_seen;
  m.cv.notify_all();
}

}  // namespace acts
