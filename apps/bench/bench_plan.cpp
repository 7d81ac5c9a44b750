// The bench plan: full size on the GPU; on the CPU the batch-256 step is skipped and the
// schedule and the 1,000-image dump are scaled down (unless --full), each row saying so.
#include "bench_plan.h"

#include <sstream>

#include "runtime/core/errors.h"

namespace acts::bench {

const StepPlan& Settings::steps(const std::string& id) const {
  if (id == "train_b20") return train_b20;
  if (id == "train_b256") return train_b256;
  if (id == "eval_b20") return eval_b20;
  if (id == "dump_1") return dump_1;
  if (id == "dump_1000") return dump_1000;
  if (id == "stats_32") return stats_32;
  if (id == "top9" || id == "top9_thrust") return top9;
  fail("bench: no step plan for row '", id, "'");
}

Settings make_settings(bool gpu, const Options& o) {
  Settings s;
  s.gpu = gpu;
  const bool small = !gpu && !o.full;  // the CPU's default: a couple of minutes in all
  if (gpu) {
    s.train_b20 = {10, 10, 20};
    s.train_b256 = {5, 10, 5};
    s.eval_b20 = {10, 10, 20};
    s.dump_1 = {5, 20, 1};
    s.dump_1000 = {1, 3, 1};
    s.stats_32 = {3, 10, 1};
    s.top9 = {1, 3, 1};
  } else {
    s.train_b20 = {1, 5, 1};
    s.train_b256 = {1, 3, 1};
    s.eval_b20 = {1, 5, 1};
    s.dump_1 = {2, 10, 1};
    s.dump_1000 = {1, 3, 1};
    s.stats_32 = {1, 5, 1};
    s.top9 = {0, 1, 1};
  }
  if (small) {
    s.b256_skip = "skipped on the CPU by default (--full runs it)";
    s.schedule = {1, 10, 5, 20};
    s.dump_images = 96;
    s.top_images = 200;
  }
  if (o.quick) {
    for (StepPlan* p : {&s.train_b20, &s.train_b256, &s.eval_b20, &s.dump_1, &s.dump_1000, &s.stats_32, &s.top9}) {
      p->warmup = std::min(p->warmup, 3);
      p->repeats = std::min(p->repeats, 3);
      p->per_repeat = std::min(p->per_repeat, 5);
    }
    s.schedule = gpu ? SchedulePlan{2, 10, 5, 20} : SchedulePlan{1, 3, 2, 20};
    s.dump_images = gpu ? 100 : 32;
    s.top_images = gpu ? 200 : 32;
  }
  if (o.repeats > 0)
    for (StepPlan* p : {&s.train_b20, &s.train_b256, &s.eval_b20, &s.dump_1, &s.dump_1000, &s.stats_32, &s.top9})
      p->repeats = o.repeats;
  const SchedulePlan full;
  if (s.schedule.epochs != full.epochs || s.schedule.train_steps != full.train_steps ||
      s.schedule.val_steps != full.val_steps) {
    std::ostringstream os;
    os << "SCALED DOWN: " << s.schedule.epochs << " x (" << s.schedule.train_steps << "+" << s.schedule.val_steps
       << ") steps of the tutorial's 30 x (100+50)";
    s.schedule_note = os.str();
  }
  if (s.dump_images != 1000) s.dump_note = "SCALED DOWN: " + std::to_string(s.dump_images) + " of 1000 images";
  if (s.top_images != 2000) s.top_note = "SCALED DOWN: " + std::to_string(s.top_images) + " of 2000 images";
  return s;
}

nlohmann::json settings_json(const Settings& s, const Options& o) {
  auto step = [](const StepPlan& p) { return nlohmann::json{{"warmup", p.warmup}, {"repeats", p.repeats}, {"per_repeat", p.per_repeat}}; };
  return {{"quick", o.quick},
          {"full", o.full},
          {"tf32", o.tf32},
          {"deterministic", !o.nondeterministic},
          {"cudnn_benchmark", o.conv_search},
          {"cpu_reference", o.cpu_reference},
          {"precision", o.precision},
          {"train_b20", step(s.train_b20)},
          {"train_b256", step(s.train_b256)},
          {"eval_b20", step(s.eval_b20)},
          {"dump_1", step(s.dump_1)},
          {"dump_1000", step(s.dump_1000)},
          {"stats_32", step(s.stats_32)},
          {"top9", step(s.top9)},
          {"top_images", s.top_images},
          {"schedule", {{"epochs", s.schedule.epochs}, {"train_steps", s.schedule.train_steps},
                        {"val_steps", s.schedule.val_steps}, {"batch", s.schedule.batch}}},
          {"dump_images", s.dump_images},
          {"dump_batch", s.dump_batch}};
}

std::vector<Row> planned_rows(const Settings& s) {
  std::vector<Row> rows;
  auto add = [&](const std::string& id, const std::string& what, int batch, long images, const std::string& unit,
                 double flop_per_image, const std::string& note) {
    Row r;
    r.id = id;
    r.what = what;
    r.batch = batch;
    r.images = images;
    r.unit = unit;
    r.gflop = images * flop_per_image / 1e9;
    r.note = note;
    rows.push_back(r);
  };
  add("train_b20", "training step, batch 20", 20, 20, "step", kTrainFlopPerImage, "");
  add("train_b256", "training step, batch 256", 256, 256, "step", kTrainFlopPerImage, s.b256_skip);
  if (!s.b256_skip.empty()) rows.back().skipped = true;
  add("eval_b20", "validation step, batch 20", 20, 20, "step", kForwardFlopPerImage, "");
  const SchedulePlan& p = s.schedule;
  const long train_images = long(p.epochs) * p.train_steps * p.batch, val_images = long(p.epochs) * p.val_steps * p.batch;
  add("schedule", "tutorial fit (train + validation)", p.batch, train_images + val_images, "run", 0, s.schedule_note);
  rows.back().gflop = (train_images * kTrainFlopPerImage + val_images * kForwardFlopPerImage) / 1e9;
  add("dump_1", "dump_acts forward, 1 image", 1, 1, "run", kForwardFlopPerImage, "");
  add("dump_1000", "dump_acts forward, 1000 images", s.dump_batch, s.dump_images, "run", kForwardFlopPerImage,
      s.dump_note);
  // train_gpu's per-channel statistics (runtime/train/channel_stats.h): one record of the default
  // probe set; main() adds its share of a tutorial epoch to the note.
  add("stats_32", "channel statistics, 32 probe photos", 20, 32, "record", kForwardFlopPerImage, "");
  // dump_acts --top 9 over the training photos, every conv layer (runtime/dump/top_images.h): the
  // forward passes to conv2d_4, each layer's channel peaks and the running top 9. main() adds
  // the images per second to the note. top9_thrust: the same with the CUDA backend's peaks by
  // Thrust's reduce_by_key instead of the hand-written kernel (GPU only).
  add("top9", "--top 9 pass, 4 conv layers", 32, s.top_images, "run", kForwardFlopPerImage, s.top_note);
  add("top9_thrust", "--top 9 pass, peaks by Thrust", 32, s.top_images, "run", kForwardFlopPerImage,
      s.gpu ? s.top_note : "GPU only (the CUDA backend's peaks by Thrust instead of its kernel)");
  if (!s.gpu) rows.back().skipped = true;
  return rows;
}

bool wanted(const Options& o, const std::string& id) {
  if (o.rows.empty()) return true;
  std::stringstream ss(o.rows);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item == id) return true;
  return false;
}

}  // namespace acts::bench
