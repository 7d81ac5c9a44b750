// bench --explain: Grad-CAM, Score-CAM and filter patterns on the tutorial model (bench_explain.h).
#include "bench_explain.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "runtime/core/errors.h"
#include "runtime/data/dataset.h"
#include "runtime/explain/class_score.h"
#include "runtime/explain/filter_patterns.h"
#include "tests/cpu/golden_weights.h"

namespace acts::bench {

namespace {

const char* kLayer = "conv2d_4";  // the tutorial's last conv layer, (15, 15, 128)

// Grad-CAM as the book: weights = mean over positions of d score / d A, map = mean over channels of
// weight x A, ReLU, divided by its maximum. grad, act: (n, hw, c); maps: (n, classes, hw).
void gradcam_maps(const std::vector<float>& grad, const std::vector<float>& act, int n, int hw, int c, int cls,
                  int classes, std::vector<float>& maps) {
  std::vector<float> w(static_cast<size_t>(c));
  for (int i = 0; i < n; ++i) {
    const float* g = grad.data() + size_t(i) * hw * c;
    const float* a = act.data() + size_t(i) * hw * c;
    std::fill(w.begin(), w.end(), 0.f);
    for (int p = 0; p < hw; ++p)
      for (int k = 0; k < c; ++k) w[k] += g[size_t(p) * c + k];
    for (float& v : w) v /= float(hw);
    float* m = maps.data() + (size_t(i) * classes + cls) * hw;
    float top = 0;
    for (int p = 0; p < hw; ++p) {
      float s = 0;
      for (int k = 0; k < c; ++k) s += w[k] * a[size_t(p) * c + k];
      m[p] = std::max(s / float(c), 0.f);
      top = std::max(top, m[p]);
    }
    if (top > 0)
      for (int p = 0; p < hw; ++p) m[p] /= top;
  }
}

// One Grad-CAM run: forward, one gradient per class, the maps on the host.
void gradcam_run(Backend& be, const Batch& b, std::vector<float>& grad, std::vector<float>& act,
                 std::vector<float>& maps) {
  const Graph& g = be.graph();
  const Node& node = g.nodes()[size_t(g.find(kLayer))];
  const int hw = node.out_shape[0] * node.out_shape[1], c = node.out_shape[2], classes = class_count(g);
  be.forward(b, false);
  be.activation(kLayer, act);
  maps.assign(size_t(b.n) * classes * hw, 0.f);
  std::vector<std::vector<float>> out;
  for (int cls = 0; cls < classes; ++cls) {
    be.gradient(class_score(g, std::vector<int>(size_t(b.n), cls)), {kLayer}, out);
    grad.swap(out[0]);
    gradcam_maps(grad, act, b.n, hw, c, cls, classes, maps);
  }
}

// Bilinear resize of one (h, w) plane to (H, W) with half-pixel centres (tf.image.resize,
// torch's interpolate with align_corners=False).
void resize_bilinear(const float* src, int h, int w, float* dst, int H, int W) {
  for (int y = 0; y < H; ++y) {
    const float sy = std::max((y + 0.5f) * h / H - 0.5f, 0.f);
    const int y0 = std::min(int(sy), h - 1), y1 = std::min(y0 + 1, h - 1);
    const float fy = sy - y0;
    for (int x = 0; x < W; ++x) {
      const float sx = std::max((x + 0.5f) * w / W - 0.5f, 0.f);
      const int x0 = std::min(int(sx), w - 1), x1 = std::min(x0 + 1, w - 1);
      const float fx = sx - x0;
      const float top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
      const float bot = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
      dst[y * W + x] = top * (1 - fy) + bot * fy;
    }
  }
}

// Score-CAM (Wang et al. 2020) of one image: each channel of A, upsampled to the input and min-max
// normalised, masks the rescaled image; the masked images' class scores (z, -z: never a softmax
// over one sigmoid output) weigh the channels; map = ReLU(sum of weight x A), divided by its max.
void scorecam_run(Backend& be, const uint8_t* photo, int batch, std::vector<float>& maps) {
  const Graph& g = be.graph();
  const Node& node = g.nodes()[size_t(g.find(kLayer))];
  const int h = node.out_shape[0], w = node.out_shape[1], c = node.out_shape[2], classes = class_count(g);
  const int H = g.spec().height, W = g.spec().width, C = g.spec().channels;
  Batch one;
  one.n = 1;
  one.images = photo;
  be.forward(one, false);
  std::vector<float> act;
  be.activation(kLayer, act);
  std::vector<float> plane(static_cast<size_t>(h) * w), mask(static_cast<size_t>(H) * W),
      masked(static_cast<size_t>(batch) * H * W * C), z(static_cast<size_t>(c));
  for (int first = 0; first < c; first += batch) {
    const int n = std::min(batch, c - first);
    for (int i = 0; i < n; ++i) {
      for (int p = 0; p < h * w; ++p) plane[p] = act[size_t(p) * c + first + i];
      resize_bilinear(plane.data(), h, w, mask.data(), H, W);
      const auto [lo, hi] = std::minmax_element(mask.begin(), mask.end());
      const float min = *lo, range = *hi - *lo;
      float* x = masked.data() + size_t(i) * H * W * C;
      for (int p = 0; p < H * W; ++p) {
        const float m = range > 0 ? (mask[p] - min) / range : 0.f;
        for (int k = 0; k < C; ++k) x[size_t(p) * C + k] = photo[size_t(p) * C + k] * (1.f / 255.f) * m;
      }
    }
    Batch b;
    b.n = n;
    b.inputs = masked.data();
    be.forward(b, false);
    const std::vector<float> logits = be.logits();
    for (int i = 0; i < n; ++i) z[first + i] = logits[size_t(i)];
  }
  maps.assign(size_t(classes) * h * w, 0.f);
  for (int cls = 0; cls < classes; ++cls) {
    const float sign = cls == 1 ? 1.f : -1.f;  // class_score.h: class 1 = z, class 0 = -z
    float* m = maps.data() + size_t(cls) * h * w;
    float top = 0;
    for (int p = 0; p < h * w; ++p) {
      float s = 0;
      for (int k = 0; k < c; ++k) s += sign * z[k] * act[size_t(p) * c + k];
      m[p] = std::max(s, 0.f);
      top = std::max(top, m[p]);
    }
    if (top > 0)
      for (int p = 0; p < h * w; ++p) m[p] /= top;
  }
}

// Filter patterns as the book (§5.4.2), all of conv2d_4's filters in one batch:
// compute_filter_patterns (runtime/explain/filter_patterns.h), deprocessed images on the host.
void filters_run(Backend& be, int steps, FilterPatterns& out) {
  FilterPatternRequest r;
  r.layer = kLayer;
  r.steps = steps;
  out = compute_filter_patterns(be, r);
  if (out.count != 128) fail("bench: compute_filter_patterns returned ", out.count, " patterns, not 128");
}

}  // namespace

const StepPlan& ExplainPlan::steps(const std::string& id) const {
  if (id == "gradcam_1") return gradcam_1;
  if (id == "gradcam_32") return gradcam_32;
  if (id == "scorecam_1") return scorecam_1;
  if (id == "filters_128") return filters_128;
  fail("bench: no explain plan for row '", id, "'");
}

ExplainPlan make_explain_plan(bool gpu, const Options& o) {
  ExplainPlan p;
  if (gpu) {
    p.gradcam_1 = {5, 20, 1};
    p.gradcam_32 = {5, 20, 1};
    p.scorecam_1 = {3, 10, 1};
    p.filters_128 = {1, 3, 1};
  } else {  // a round of the four rows takes about a minute on 2 cores, most of it filters_128
    p.gradcam_1 = {2, 10, 1};
    p.gradcam_32 = {1, 5, 1};
    p.scorecam_1 = {1, 3, 1};
    p.filters_128 = {1, 1, 1};
  }
  if (o.quick) {
    for (StepPlan* s : {&p.gradcam_1, &p.gradcam_32, &p.scorecam_1, &p.filters_128}) {
      s->warmup = std::min(s->warmup, 1);
      s->repeats = std::min(s->repeats, 2);
    }
    p.filter_steps = 4;
  }
  if (o.filter_steps > 0) p.filter_steps = o.filter_steps;
  if (o.repeats > 0)
    for (StepPlan* s : {&p.gradcam_1, &p.gradcam_32, &p.scorecam_1, &p.filters_128}) s->repeats = o.repeats;
  return p;
}

nlohmann::json explain_plan_json(const ExplainPlan& p) {
  auto step = [](const StepPlan& s) { return nlohmann::json{{"warmup", s.warmup}, {"repeats", s.repeats}}; };
  return {{"gradcam_1", step(p.gradcam_1)},
          {"gradcam_32", step(p.gradcam_32)},
          {"scorecam_1", step(p.scorecam_1)},
          {"filters_128", step(p.filters_128)},
          {"filter_steps", p.filter_steps},
          {"scorecam_batch", p.scorecam_batch}};
}

std::vector<Row> explain_rows(const ExplainPlan& p, const std::string& photos_note) {
  std::vector<Row> rows;
  auto add = [&](const std::string& id, const std::string& what, int batch, long images, const std::string& note) {
    Row r;
    r.id = id;
    r.what = what;
    r.batch = batch;
    r.images = images;
    r.unit = "run";
    r.note = note;
    rows.push_back(r);
  };
  add("gradcam_1", "Grad-CAM conv2d_4, 1 img, 2 cls", 1, 1, photos_note);
  add("gradcam_32", "Grad-CAM conv2d_4, 32 img, 2 cls", 32, 32, photos_note);
  add("scorecam_1", "Score-CAM conv2d_4 128 ch, 1 img", p.scorecam_batch, 1, photos_note);
  add("filters_128", "filters conv2d_4, 128 x " + std::to_string(p.filter_steps) + " steps", 128, 128,
      p.filter_steps == 40 ? "" : "SCALED DOWN: " + std::to_string(p.filter_steps) + " of 40 steps");
  return rows;
}

std::vector<uint8_t> explain_photos(const std::string& dir, const Graph& g, int count, std::string& note) {
  const size_t per = g.input_size();
  std::vector<uint8_t> px(size_t(count) * per);
  if (dir.empty()) {
    std::mt19937_64 rng(5);
    for (uint8_t& v : px) v = uint8_t(rng());
    note = "random pixels (--photos: real ones)";
    return px;
  }
  LoadOptions lo;
  lo.height = g.spec().height;
  lo.width = g.spec().width;
  const Dataset d = load_split(dir, lo);
  if (d.size() == 0) fail(dir, ": no photos");
  for (int i = 0; i < count; ++i) std::copy_n(d.image(size_t(i) % d.size()), per, px.data() + size_t(i) * per);
  note = "photos of " + dir;
  return px;
}

void time_explain(Row& row, const Graph& g, const ExplainPlan& p, const std::vector<uint8_t>& photos, Clock& clock,
                  const std::function<std::unique_ptr<Backend>(int max_batch)>& make) {
  const std::string& id = row.id;
  const StepPlan& plan = p.steps(id);
  const int max_batch = id == "filters_128" ? 128 : id == "scorecam_1" ? p.scorecam_batch : row.batch;
  auto be = make(max_batch);
  be->set_params(acts::test::golden_params(g));
  std::vector<float> a, b2, c;
  FilterPatterns fp;
  Batch b;
  b.n = row.batch;
  b.images = photos.data();
  std::function<void(bool)> run;
  if (id == "gradcam_1" || id == "gradcam_32") run = [&](bool) { gradcam_run(*be, b, a, b2, c); };
  else if (id == "scorecam_1") run = [&](bool) { scorecam_run(*be, photos.data(), p.scorecam_batch, c); };
  else run = [&](bool warm) { filters_run(*be, warm ? 2 : p.filter_steps, fp); };  // warm-up: 2 steps
  for (int i = 0; i < plan.warmup; ++i) run(true);
  std::vector<double> ms;
  for (int r = 0; r < plan.repeats; ++r) {
    clock.start();
    run(false);
    ms.push_back(clock.stop_ms());
  }
  row.ms = median(ms);
  row.repeats = plan.repeats;
}

}  // namespace acts::bench
