// The Backend interface's shared half: batch checks, the op profile and the precision names.
#include "runtime/core/backend.h"

#include <algorithm>

#include "runtime/core/errors.h"
#include "runtime/core/head.h"

namespace acts {

Precision parse_precision(const std::string& name) {
  if (name == "fp32" || name == "float32") return Precision::kFloat32;
  if (name == "bf16" || name == "mixed_bfloat16") return Precision::kMixedBf16;
  fail("precision '", name, "' is not one of fp32 (float32) or bf16 (Keras' mixed_bfloat16)");
}

const char* precision_name(Precision p) { return p == Precision::kMixedBf16 ? "bf16" : "fp32"; }

void Backend::check_batch(const Batch& b, bool need_labels) const {
  if (b.n <= 0 || b.n > opt_.max_batch)
    fail("batch of ", b.n, " images does not fit this backend (allocated for at most ", opt_.max_batch, ")");
  if (!b.images && !b.inputs) fail("batch has neither images nor inputs");
  if (b.images && b.inputs) fail("batch has both images and inputs; set one");
  if (b.affine && !b.images) fail("augmentation (affine) needs uint8 images");
  if (b.rows && !b.images) fail("batch names image-set rows without the images themselves");
  if (need_labels && !b.labels) fail("batch has no labels");
  if (need_labels && head_kind(graph_) == HeadKind::kSoftmax) {  // a bad index would train a wrong class
    const int classes = graph_.nodes().back().spec.units;
    for (int i = 0; i < b.n; ++i)
      if (!(b.labels[i] >= 0 && b.labels[i] < float(classes)) || b.labels[i] != float(int(b.labels[i])))
        fail("batch label ", b.labels[i], " of image ", i, " is not a class index of the ", classes, "-class head");
  }
}

size_t Backend::nodes_through(const std::string& last) const {
  const int i = graph_.find(last);
  if (i < 0) throw BadRequest("no layer named '" + last + "'; valid layers: " + graph_.layer_names());
  return size_t(i) + 1;
}

void Backend::add_channel_sums(const std::string& layer, std::vector<double>& acc) const {
  const Node& nd = graph_.nodes()[computed_node(layer, "add_channel_sums")];
  const int channels = nd.out_shape.back();
  if (acc.size() != 4 * size_t(channels))
    fail("add_channel_sums('", layer, "'): ", acc.size(), " sums for ", channels, " channels; give 4 per channel");
  add_channel_sums_of(size_t(&nd - graph_.nodes().data()), channels, acc.data());
}

void Backend::channel_peaks(const std::string& layer, std::vector<float>& peak, std::vector<int>& where) const {
  const Node& nd = graph_.nodes()[computed_node(layer, "channel_peaks")];
  channel_peaks_of(size_t(&nd - graph_.nodes().data()), nd.out_shape.back(), peak, where);
}

size_t Backend::computed_node(const std::string& layer, const char* what) const {
  const int i = graph_.find(layer);
  if (i < 0) fail("no layer named '", layer, "'; valid layers: ", graph_.layer_names());
  if (computed_ == 0) fail(what, "('", layer, "') asked before any forward pass");
  if (size_t(i) >= computed_)
    fail(what, "('", layer, "'): the last forward stopped at ", graph_.nodes()[computed_ - 1].spec.name);
  return size_t(i);
}

Backend::GradientPlan Backend::plan_gradient(const Objective& o, const std::vector<std::string>& wrt, int n) const {
  const Graph& g = graph_;
  const int from = g.find(o.layer);
  if (from < 0) throw BadRequest("no layer named '" + o.layer + "' to differentiate; valid layers: " + g.layer_names());
  if (n <= 0) fail("gradient() asked before any forward pass");
  computed_node(o.layer, "gradient");
  const Node& nd = g.nodes()[size_t(from)];
  if (o.target.size() != size_t(n))
    fail("gradient(): ", o.target.size(), " targets for a batch of ", n, " images; one per image");
  if (!o.weight.empty() && o.weight.size() != size_t(n))
    fail("gradient(): ", o.weight.size(), " weights for a batch of ", n, " images; one per image or none");
  const size_t limit = o.kind == Objective::Kind::kChannelMean ? size_t(nd.out_shape.back()) : nd.out_size;
  for (int t : o.target)
    if (t < 0 || size_t(t) >= limit)
      throw BadRequest(std::string(o.kind == Objective::Kind::kChannelMean ? "channel " : "element ") +
                       std::to_string(t) + " is out of range for layer " + o.layer + " (" + std::to_string(limit) +
                       (o.kind == Objective::Kind::kChannelMean ? " channels)" : " values per image)"));
  if (wrt.empty()) fail("gradient(): no layer to take the gradient with respect to");
  GradientPlan p;
  p.from = size_t(from);
  p.stop = p.from + 1;  // none runs until a wrt layer below asks for it
  p.keep.assign(g.nodes().size(), false);
  for (const std::string& name : wrt) {
    if (name.empty()) {
      p.want_input = true;
      p.stop = 0;
      p.wrt_node.push_back(-1);
      continue;
    }
    const int i = g.find(name);
    if (i < 0) throw BadRequest("no layer named '" + name + "'; valid layers: " + g.layer_names());
    if (i > from)
      throw BadRequest("layer " + name + " comes after " + o.layer + ": its output does not change " + o.layer +
                       "'s; ask for an earlier layer");
    p.keep[size_t(i)] = true;
    p.wrt_node.push_back(i);
    // The gradient at node i's output is what node i+1's backward writes (the seed itself when
    // i is the objective's layer), so node i+1 is the lowest to run.
    p.stop = std::min(p.stop, size_t(i) + 1);
  }
  return p;
}

void Backend::objective_seed(const Objective& o, int n, float* d) const {
  const Node& nd = graph_.nodes()[size_t(graph_.find(o.layer))];
  std::fill(d, d + size_t(n) * nd.out_size, 0.f);
  const size_t channels = size_t(nd.out_shape.back()), positions = nd.out_size / channels;
  for (int i = 0; i < n; ++i) {
    const float w = o.weight.empty() ? 1.f : o.weight[size_t(i)];
    float* row = d + size_t(i) * nd.out_size;
    if (o.kind == Objective::Kind::kElement) {
      row[o.target[size_t(i)]] = w;
    } else {
      for (size_t p = 0; p < positions; ++p) row[p * channels + size_t(o.target[size_t(i)])] = w / float(positions);
    }
  }
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
