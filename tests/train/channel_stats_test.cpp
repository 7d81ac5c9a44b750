// Issue 22's per-channel statistics (runtime/train/channel_stats.h): the sums of
// kernels/cpu/channel_stats.h turned into statistics against a two-pass computation on the
// layer's own output; a model with one channel forced dead (bias -1e3) and one forced constant
// (kernel 0, bias 0.5) flagged exactly there, in every layer they reach; the probe set drawn the
// same way every time; and records written, read back by a resumed run and cut at its checkpoint.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/channel_stats.h"

#include "runtime/core/model_spec.h"
#include "runtime/core/npy.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/train/channel_stats.h"
#include "tests/cpu/golden_weights.h"

namespace acts::training {
namespace {

// Conv2D(5, relu) -> MaxPooling2D -> Flatten -> Dense(1, sigmoid) on 12x12 photos.
Graph probe_model() {
  const nlohmann::json m = {
      {"class_name", "Sequential"},
      {"config",
       {{{"class_name", "Conv2D"},
         {"config",
          {{"name", "conv2d_1"},
           {"batch_input_shape", {nullptr, 12, 12, 3}},
           {"filters", 5},
           {"kernel_size", 3},
           {"activation", "relu"}}}},
        {{"class_name", "MaxPooling2D"}, {"config", {{"name", "max_pooling2d_1"}}}},
        {{"class_name", "Flatten"}, {"config", {{"name", "flatten_1"}}}},
        {{"class_name", "Dense"}, {"config", {{"name", "dense_1"}, {"units", 1}, {"activation", "sigmoid"}}}}}}};
  return Graph(parse_keras_json(m.dump(), "probe.json"));
}

Dataset random_photos(size_t n, uint32_t seed) {
  Dataset d;
  d.height = d.width = 12;
  d.classes = {"a", "b"};
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) {
    d.files.push_back((i % 2 ? "b/" : "a/") + std::to_string(i) + ".jpg");
    d.labels.push_back(float(i % 2));
  }
  d.pixels.resize(n * 12 * 12 * 3);
  for (uint8_t& p : d.pixels) p = uint8_t(rng() % 256);
  return d;
}

// Channel 1 of conv2d_1 dead (bias -1e3), channel 3 constant (kernel 0, bias 0.5).
std::vector<float> forced_params(const Graph& g) {
  std::vector<float> w = test::golden_params(g);
  const Node& conv = g.nodes()[0];
  const ParamRef& k = g.params()[size_t(conv.kernel)];
  const ParamRef& b = g.params()[size_t(conv.bias)];
  for (size_t i = 0; i < k.size; ++i)
    if (i % 5 == 3) w[k.offset + i] = 0.f;  // HWIO: the output channel is the last axis
  w[b.offset + 1] = -1e3f;
  w[b.offset + 3] = 0.5f;
  return w;
}

// A CPU backend (the fast path where the build has it) for batches of `max_batch`, holding `w`.
std::unique_ptr<CpuBackend> backend_with(const Graph& g, int max_batch, const std::vector<float>& w) {
  BackendOptions o;
  o.max_batch = max_batch;
  auto be = std::make_unique<CpuBackend>(g, o);
  be->set_params(w);
  return be;
}

TEST(ChannelStats, StatisticsEqualATwoPassComputationOnTheLayersOutput) {
  const Graph g = probe_model();
  const auto be_ptr = backend_with(g, 7, test::golden_params(g));
  CpuBackend& be = *be_ptr;
  const Dataset photos = random_photos(7, 3);
  Batch b;
  b.n = 7;
  b.images = photos.pixels.data();
  be.forward(b, false);
  for (const char* layer : {"conv2d_1", "max_pooling2d_1", "dense_1"}) {
    const std::vector<float> out = be.activation(layer);
    const int C = g.nodes()[size_t(g.find(layer))].out_shape.back();
    std::vector<double> sums(4 * size_t(C), 0.0);
    std::fill(sums.begin() + 3 * C, sums.end(), -INFINITY);
    be.add_channel_sums(layer, sums);
    const size_t rows = out.size() / size_t(C);
    const std::vector<float> stats = stats_from_sums(sums, double(rows), {});
    for (int c = 0; c < C; ++c) {
      double mean = 0, sq = 0, zeros = 0, max = -INFINITY;
      for (size_t r = 0; r < rows; ++r) mean += out[r * size_t(C) + size_t(c)];
      mean /= double(rows);
      for (size_t r = 0; r < rows; ++r) {
        const double v = out[r * size_t(C) + size_t(c)];
        sq += (v - mean) * (v - mean);
        zeros += v == 0;
        max = std::max(max, v);
      }
      const float* s = &stats[size_t(c) * kStatFields];
      EXPECT_NEAR(s[0], mean, 1e-6 * std::max(1.0, std::fabs(mean))) << layer << " channel " << c;
      EXPECT_NEAR(s[1], std::sqrt(sq / double(rows)), 1e-5 * std::max(1e-3, std::sqrt(sq / double(rows))))
          << layer << " channel " << c;
      EXPECT_EQ(s[2], float(zeros / double(rows))) << layer << " channel " << c;
      EXPECT_EQ(s[3], float(max)) << layer << " channel " << c;
      EXPECT_EQ(s[4], 0.f) << "no previous record";
    }
  }
}

TEST(ChannelStats, ADeadAndAConstantChannelAreFlaggedExactlyThere) {
  const Graph g = probe_model();
  const auto be_ptr = backend_with(g, 4, forced_params(g));
  CpuBackend& be = *be_ptr;
  const Dataset val = random_photos(10, 5), train = random_photos(20, 6);
  ChannelStats stats(g, train, val, 9, 1, 1.f / 255.f);
  ASSERT_TRUE(stats.enabled());
  stats.record(be, 4, 1, 100);  // 9 photos in batches of 4, 4, 1
  ASSERT_EQ(stats.layers().size(), 3u) << "Flatten has no channels of its own";
  for (const ChannelStats::Layer& l : stats.layers()) {
    const std::vector<ChannelState> st = channel_states(l.records);
    if (l.name == "dense_1") {
      EXPECT_EQ(st, std::vector<ChannelState>{ChannelState::kLive});
      continue;
    }
    EXPECT_EQ(st, (std::vector<ChannelState>{ChannelState::kLive, ChannelState::kDead, ChannelState::kLive,
                                             ChannelState::kCollapsed, ChannelState::kLive}))
        << l.name;
    EXPECT_EQ(l.dead, std::vector<int>{1}) << l.name;
    EXPECT_EQ(l.collapsed, std::vector<int>{1}) << l.name;
    EXPECT_EQ(l.records[3 * kStatFields + 0], 0.5f) << l.name << ": the constant channel's mean";
    EXPECT_EQ(l.records[1 * kStatFields + 3], 0.f) << l.name << ": the dead channel's maximum";
  }
}

TEST(ChannelStats, TheProbeSetIsDrawnTheSameWayEveryTimeAndFromTrainingWithoutValidation) {
  const Graph g = probe_model();
  const auto be_ptr = backend_with(g, 5, test::golden_params(g));
  CpuBackend& be = *be_ptr;
  const Dataset val = random_photos(30, 7), train = random_photos(40, 8), none;
  ChannelStats a(g, train, val, 5, 42, 1.f / 255.f), b(g, train, val, 5, 42, 1.f / 255.f),
      other_seed(g, train, val, 5, 43, 1.f / 255.f), from_train(g, train, none, 5, 42, 1.f / 255.f);
  for (ChannelStats* s : {&a, &b, &other_seed, &from_train}) s->record(be, 5, 1, 1);
  EXPECT_EQ(a.layers()[0].records, b.layers()[0].records);
  EXPECT_NE(a.layers()[0].records, other_seed.layers()[0].records);
  EXPECT_NE(a.layers()[0].records, from_train.layers()[0].records);
}

TEST(ChannelStats, ARunResumedFromItsCheckpointReadsItsRecordsBackUpToIt) {
  const Graph g = probe_model();
  std::vector<float> w = forced_params(g);
  const auto be_ptr = backend_with(g, 4, w);
  CpuBackend& be = *be_ptr;
  const Dataset val = random_photos(6, 9), train = random_photos(6, 10);
  ChannelStats full(g, train, val, 6, 1, 1.f / 255.f);
  const std::pair<int, int> marks[] = {{0, 0}, {1, 5}, {1, 10}, {2, 10}};
  for (auto [epoch, step] : marks) {
    for (float& v : w) v *= 1.01f;  // the weights move between records
    be.set_params(w);
    full.record(be, 4, epoch, step);
  }
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("acts_stats_" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  full.writer(dir, {})();
  ASSERT_TRUE(std::filesystem::exists(dir + "/stats.html"));
  const NpyArray npy = read_npy(dir + "/stats/conv2d_1.npy");
  EXPECT_EQ(npy.shape, (std::vector<size_t>{4, 5, size_t(kStatFields)}));
  EXPECT_EQ(npy.to_float(), full.layers()[0].records);
  std::ifstream in(dir + "/stats/index.json");
  const nlohmann::json index = nlohmann::json::parse(in);
  EXPECT_EQ(index["records"].size(), 4u);
  EXPECT_EQ(index["layers"][0]["dead"], nlohmann::json({1, 1, 1, 1}));

  ChannelStats resumed(g, train, val, 6, 1, 1.f / 255.f);
  resumed.resume(dir, 1, 10);  // the checkpoint at the end of epoch 1: the epoch-2 record goes
  ASSERT_EQ(resumed.marks().size(), 3u);
  for (size_t l = 0; l < full.layers().size(); ++l) {
    const std::vector<float>& all = full.layers()[l].records;
    const size_t keep = all.size() / 4 * 3;
    EXPECT_EQ(resumed.layers()[l].records, std::vector<float>(all.begin(), all.begin() + ptrdiff_t(keep)));
  }
  // Going on from there gives what the uninterrupted run recorded, the change included.
  be.set_params(w);
  resumed.record(be, 4, 2, 10);
  for (size_t l = 0; l < full.layers().size(); ++l)
    EXPECT_EQ(resumed.layers()[l].records, full.layers()[l].records) << full.layers()[l].name;

  std::ofstream(dir + "/stats/conv2d_1.npy") << "damaged";
  ChannelStats damaged(g, train, val, 6, 1, 1.f / 255.f);
  damaged.resume(dir, 1, 10);  // a warning, and the records start again
  EXPECT_TRUE(damaged.marks().empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace acts::training
