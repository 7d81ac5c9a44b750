// BatchIterator: Keras' index sequences (golden from keras_preprocessing's Iterator), one
// permutation per data epoch covering every image once, determinism per seed, exact resume with
// seek(), short batches at epoch ends, and the affine parameters that travel with each batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "runtime/data/augment_params.h"
#include "runtime/data/dataset.h"
#include "runtime/data/shuffle.h"
#include "tests/data/data_test_util.h"
#include "runtime/core/errors.h"

namespace acts {
namespace {

// n images of 1x2 pixels whose first two bytes spell their index, labels = index % 2.
Dataset numbered(size_t n) {
  Dataset d;
  d.root = "numbered";
  d.classes = {"0", "1"};
  d.height = 1;
  d.width = 2;
  for (size_t i = 0; i < n; ++i) {
    d.labels.push_back(float(i % 2));
    const uint8_t px[6] = {uint8_t(i & 255), uint8_t(i >> 8), 7, 7, 7, 7};
    d.pixels.insert(d.pixels.end(), px, px + 6);
  }
  return d;
}

std::vector<int> indices(const HostBatch& b) {
  std::vector<int> out;
  for (int i = 0; i < b.n; ++i) out.push_back(b.images[i * 6] | (b.images[i * 6 + 1] << 8));
  return out;
}

// A batch copied out, for comparing runs (the iterator's pointers do not outlive next()).
struct Copy {
  std::vector<uint8_t> images;
  std::vector<float> labels, affine;
  bool operator==(const Copy& o) const { return images == o.images && labels == o.labels && affine == o.affine; }
};
Copy copy(const HostBatch& b, size_t image_bytes) {
  Copy c;
  c.images.assign(b.images, b.images + b.n * image_bytes);
  c.labels.assign(b.labels, b.labels + b.n);
  if (b.affine) c.affine.assign(b.affine, b.affine + b.n * 6);
  return c;
}

TEST(DataIterator, NumpyPermutationMatchesNumpy) {
  // np.random.seed(seed); np.random.permutation(n): the first batch of each Keras case is its
  // permutation's head.
  const auto golden = test::read_json(test::golden("iterator.json"));
  for (const auto& c : golden["cases"]) {
    if (!c["shuffle"].get<bool>()) continue;
    const auto perm = numpy_permutation(c["n"], c["seed"].get<uint32_t>());
    const auto first = c["batches"][0].get<std::vector<uint32_t>>();
    EXPECT_TRUE(std::equal(first.begin(), first.end(), perm.begin())) << "n " << c["n"] << " seed " << c["seed"];
  }
}

TEST(DataIterator, SequenceMatchesKerasIterator) {
  const auto golden = test::read_json(test::golden("iterator.json"));
  for (const auto& c : golden["cases"]) {
    const Dataset d = numbered(c["n"]);
    BatchIterator it(d, c["batch"], c["shuffle"], c["seed"]);
    for (size_t k = 0; k < c["batches"].size(); ++k) {
      const HostBatch b = it.next();
      EXPECT_EQ(indices(b), c["batches"][k].get<std::vector<int>>())
          << "n " << c["n"] << " batch " << c["batch"] << " seed " << c["seed"] << ": batch " << k;
      for (int i = 0; i < b.n; ++i) EXPECT_EQ(b.labels[i], float(indices(b)[i] % 2));
      EXPECT_EQ(b.affine, nullptr);
    }
  }
}

TEST(DataIterator, EveryEpochIsANewPermutationOfAllImages) {
  const Dataset d = numbered(103);
  BatchIterator it(d, 10, true, 99);
  ASSERT_EQ(it.batches_per_epoch(), 11u);
  std::vector<std::vector<int>> epochs;
  for (int e = 0; e < 4; ++e) {
    std::vector<int> order;
    for (uint64_t k = 0; k < it.batches_per_epoch(); ++k) {
      const HostBatch b = it.next();
      EXPECT_EQ(b.n, k + 1 < it.batches_per_epoch() ? 10 : 3) << "epoch " << e << " batch " << k;
      for (int i : indices(b)) order.push_back(i);
    }
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 103; ++i) ASSERT_EQ(sorted[i], i) << "epoch " << e << " does not cover every image once";
    epochs.push_back(order);
  }
  EXPECT_EQ(it.batches_seen(), 44u);
  EXPECT_EQ(std::set<std::vector<int>>(epochs.begin(), epochs.end()).size(), 4u) << "an epoch order repeated";
}

TEST(DataIterator, DeterministicPerSeed) {
  const Dataset d = numbered(50);
  BatchIterator a(d, 7, true, 3), b(d, 7, true, 3), c(d, 7, true, 4);
  bool differs = false;
  for (int k = 0; k < 20; ++k) {
    const auto ia = indices(a.next()), ib = indices(b.next()), ic = indices(c.next());
    EXPECT_EQ(ia, ib) << "batch " << k;
    differs |= ia != ic;
  }
  EXPECT_TRUE(differs) << "seeds 3 and 4 gave the same 20 batches";
}

TEST(DataIterator, WithoutShuffleTheOrderIsTheFileOrder) {
  const Dataset d = numbered(7);
  BatchIterator it(d, 3, false, 1);
  for (const std::vector<int>& want : {std::vector<int>{0, 1, 2}, {3, 4, 5}, {6}, {0, 1, 2}})
    EXPECT_EQ(indices(it.next()), want);
}

TEST(DataIterator, SeekResumesBitIdentically) {
  Dataset d = numbered(37);
  d.height = 2;  // 2x1 images: non-square, so the affine depends on which side is which
  d.width = 1;
  const size_t bytes = 6;
  BatchIterator full(d, 5, true, 11, AugmentOptions::chollet());
  std::vector<Copy> run;
  for (int k = 0; k < 30; ++k) run.push_back(copy(full.next(), bytes));

  BatchIterator resumed(d, 5, true, 11, AugmentOptions::chollet());
  resumed.seek(13);  // e.g. a checkpoint after 13 steps, in the middle of data epoch 2
  EXPECT_EQ(resumed.batches_seen(), 13u);
  for (int k = 13; k < 30; ++k) EXPECT_TRUE(copy(resumed.next(), bytes) == run[k]) << "batch " << k;
  resumed.seek(2);  // and backwards, on a running iterator
  for (int k = 2; k < 9; ++k) EXPECT_TRUE(copy(resumed.next(), bytes) == run[k]) << "batch " << k << " after seek(2)";
}

TEST(DataIterator, AffineParametersComeFromSeedAndImagePosition) {
  const Dataset d = numbered(9);  // 1 x 2 images
  const AugmentOptions aug = AugmentOptions::chollet();
  BatchIterator it(d, 4, true, 21, aug);
  std::set<std::vector<float>> distinct;
  uint64_t global = 0;  // position in the stream of images: epoch * n + place in the epoch
  for (int k = 0; k < 6; ++k) {
    const HostBatch b = it.next();
    ASSERT_NE(b.affine, nullptr);
    for (int i = 0; i < b.n; ++i, ++global) {
      float want[6];
      affine_matrix(random_affine_params(aug, 1, 2, 21, global), 1, 2, want);
      EXPECT_EQ(std::memcmp(want, b.affine + 6 * i, sizeof want), 0) << "batch " << k << " image " << i;
      distinct.insert(std::vector<float>(b.affine + 6 * i, b.affine + 6 * i + 6));
    }
  }
  EXPECT_EQ(global, 18u);  // batches 4, 4, 1 per epoch
  EXPECT_EQ(distinct.size(), 18u) << "augmentations repeat";
}

TEST(DataIterator, BadArgumentsAreErrors) {
  const Dataset empty = numbered(0), some = numbered(3);
  EXPECT_THROW(BatchIterator(empty, 2, true, 1), Error);
  EXPECT_THROW(BatchIterator(some, 0, true, 1), Error);
}

}  // namespace
}  // namespace acts
