// bench --explain: Grad-CAM, Score-CAM and filter patterns on the tutorial model (bench_explain.h).
#include "bench_explain.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "runtime/core/errors.h"
#include "runtime/data/dataset.h"
#include "runtime/explain/cam.h"
#include "runtime/explain/filter_patterns.h"
#include "tests/cpu/golden_weights.h"

namespace acts::bench {

namespace {

const char* kLayer = "conv2d_4";  // the tutorial's last conv layer, (15, 15, 128)

// Grad-CAM (the book's) or Score-CAM of conv2d_4 for both classes: compute_cam
// (runtime/explain/cam.h), the maps (n, 2, 15, 15) on the host.
void cam_run(Backend& be, const Batch& b, CamMethod method, int scorecam_batch, CamMaps& out) {
  CamRequest r;
  r.method = method;
  r.layer = kLayer;
  r.classes = {0, 1};
  r.score_cam_batch = scorecam_batch;
  out = compute_cam(be, b, r);
  if (out.maps.size() != size_t(b.n) * 2 * 15 * 15) fail("bench: compute_cam returned ", out.maps.size(), " values");
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
  CamMaps maps;
  FilterPatterns fp;
  Batch b;
  b.n = row.batch;
  b.images = photos.data();
  std::function<void(bool)> run;
  if (id == "gradcam_1" || id == "gradcam_32") run = [&](bool) { cam_run(*be, b, CamMethod::kGradCam, 0, maps); };
  else if (id == "scorecam_1") {
    b.n = 1;
    run = [&](bool) { cam_run(*be, b, CamMethod::kScoreCam, p.scorecam_batch, maps); };
  }
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
