#include "dump.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "heatmap_dump.h"
#include "html.h"
#include "misclassified.h"
#include "npy_stream.h"
#include "prediction.h"
#include "runtime/core/atomic_file.h"
#include "runtime/core/backend.h"
#include "runtime/core/checkpoint.h"
#include "runtime/core/errors.h"
#include "runtime/core/head.h"
#include "runtime/core/stop_request.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "runtime/keras/keras_file.h"
#include "runtime/ops/op.h"
#include "sources.h"
#include "top_images.h"

namespace acts {
namespace fs = std::filesystem;

namespace {

// One dumped layer.
struct Target {
  const Node* node;
  std::vector<int> channels;       // the --channel values this layer has
  std::unique_ptr<NpyStream> npy;  // (N, out_shape...)
  std::vector<float> host;         // the last batch's output, reused batch to batch
  // --compare: model B's output and B - A, likewise
  std::unique_ptr<NpyStream> b_npy, diff_npy;
  std::vector<float> b_host, diff;
};

// The folders this dump made, parents first. A dump that fails or is stopped removes those it
// left empty (out of memory once the per-image folders were made left dozens of bare ones);
// folders that were there before, or that hold files, are never touched.
class MadeFolders {
 public:
  MadeFolders() = default;
  MadeFolders(const MadeFolders&) = delete;
  MadeFolders& operator=(const MadeFolders&) = delete;
  ~MadeFolders() {
    std::error_code ec;
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) fs::remove(*it, ec);  // rmdir: empty ones only
  }
  void create(const std::string& dir, std::error_code& ec) {
    std::vector<fs::path> missing;  // dir and its missing parents, deepest first
    for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) missing.push_back(p);
    made_.insert(made_.end(), missing.rbegin(), missing.rend());
    fs::create_directories(dir, ec);
  }
  void keep() { made_.clear(); }  // the dump is complete

 private:
  std::vector<fs::path> made_;
};

void prepare_out(const std::string& out, MadeFolders& made) {
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    fail(out, ": exists and is not a folder; choose another --out");
  made.create(out, ec);
  if (ec) fail(out, ": cannot create the output folder (", ec.message(), "); choose another --out");
  if (access(out.c_str(), W_OK | X_OK) != 0)
    fail(out, ": output folder is not writable (", std::strerror(errno), "); choose another --out");
  remove_stale_temporaries(out);  // an earlier dump killed with SIGKILL left its NPY files half
}

// Which --channel pictures each layer gets: K must fit at least one dumped (H, W, C) layer.
void assign_channels(std::vector<Target>& targets, const std::vector<int>& channels) {
  for (int k : channels) {
    if (k < 0) fail("--channel ", k, ": channels are numbered from 0");
    bool used = false;
    for (Target& t : targets) {
      const std::vector<int>& s = t.node->out_shape;
      if (s.size() == 3 && k < s[2]) {
        t.channels.push_back(k);
        used = true;
      }
    }
    if (!used) {
      int most = 0;
      for (const Target& t : targets)
        if (t.node->out_shape.size() == 3) most = std::max(most, t.node->out_shape[2]);
      if (most == 0)
        fail("--channel ", k,
             ": none of the chosen layers has channels (H, W, C); choose a Conv2D or MaxPooling2D layer");
      fail("--channel ", k, ": the chosen layers have at most ", most, " channels (0..", most - 1, ")");
    }
  }
}

// Catches SIGINT, SIGTERM and SIGHUP (a closed terminal; unless ignored, as under nohup) while
// it lives, ignores SIGPIPE (a reader of our output that went away with the terminal must not
// kill the dump mid-file), and restores the previous handlers after.
class SignalScope {
 public:
  explicit SignalScope(bool on) : on_(on) {
    if (!on_) return;
    clear_stop_request();
    struct sigaction sa {}, ignore {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGHUP, nullptr, &old_hup_);
    if (old_hup_.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, nullptr);
    sigaction(SIGPIPE, &ignore, &old_pipe_);
  }
  ~SignalScope() {
    if (!on_) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGHUP, &old_hup_, nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  bool on_;
  struct sigaction old_int_ {}, old_term_ {}, old_hup_ {}, old_pipe_ {};
};

// Between batches, read by the stop request (stop_request.h): `done` of `n` images dumped.
void throw_if_stopped(const std::string& out, size_t done, size_t n) {
  if (stop_requested())
    throw Interrupted("the dump into " + out + "/ was stopped after " + std::to_string(done) + " of " +
                      std::to_string(n) + " images: its unfinished NPY files were removed (pictures already drawn "
                      "are kept); run it again to get them");
}

}  // namespace

std::string batch_shape(size_t n, const std::vector<int>& per_sample) {
  std::string s = "(" + std::to_string(n);
  for (int d : per_sample) s += ", " + std::to_string(d);
  return s + ")";
}

std::vector<int> select_layers(const Graph& g, const std::vector<std::string>& names, bool all) {
  std::vector<int> out;
  if (all || names.empty()) {
    const int n = int(g.nodes().size());
    for (int i = 0; i < (all ? n : std::min(n, kTutorialLayers)); ++i) out.push_back(i);
    return out;
  }
  for (const std::string& name : names) {
    g.node(name);  // throws, listing the valid names
    const int i = g.find(name);
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  std::sort(out.begin(), out.end());  // model order, as model.layers lists them
  return out;
}

std::string layer_table(const Graph& g) {
  // Columns as wide as the longest name and class (at least the tutorial's 20 and 14).
  int name_w = 20, type_w = 14;
  for (const Node& n : g.nodes()) {
    name_w = std::max(name_w, int(n.spec.name.size()));
    type_w = std::max(type_w, int(std::strlen(layer_type_name(n.spec.type))));
  }
  auto row = [&](const std::string& name, const char* type, const std::string& shape, const char* mark) {
    std::string r = name + std::string(size_t(name_w) + 1 - name.size(), ' ') + type +
                    std::string(size_t(type_w) + 1 - std::strlen(type), ' ') + shape;
    if (*mark) r += std::string(shape.size() < 22 ? 22 - shape.size() : 0, ' ') + mark;
    return r + "\n";
  };
  std::string s = row("input", "InputLayer", keras_shape(g.input_shape()), "");
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    s += row(n.spec.name, layer_type_name(n.spec.type), keras_shape(n.out_shape), int(i) < kTutorialLayers ? " *" : "");
  }
  return s + "* dumped without --layer/--all (the tutorial's model.layers[:8])\n";
}

namespace {

// A request that passed every check: what is dumped, from which model, for which images.
struct Request {
  MadeFolders made;  // first: destroyed last, once the NPY streams have removed their temporaries
  std::string ckpt_path, model_text;  // model_text: the path and, for runs/latest, the real file
  Checkpoint ckpt;
  std::vector<std::pair<int, std::string>> epochs;  // --animate: (epoch, checkpoint) the run kept
  std::string compare_text;  // --compare: model B's file, and its weights
  std::vector<float> compare_params;
  std::unique_ptr<Graph> graph;
  std::vector<Target> targets;
  Inputs in;
  std::vector<std::string> predictions;  // per image, filled by the forward passes
  float scale = 1.f / 255.f;             // the input rescale
  std::vector<std::string> classes;      // the names of the head's classes, by index
  ExplainPlan plan;                      // --cam, --saliency, --filters, ...
  std::unique_ptr<HeatmapDump> heat;     // the maps' NPY streams (after `made`: destroyed first)
  std::vector<PageFilters> filters;      // the filter grids written
  Dataset split;                         // --misclassified: the photos to predict
  bool misclassified = false;
  Misclassified mis;
  // Only filter patterns asked for: no image is needed (nor loaded).
  bool filters_only(const DumpConfig& c) const {
    return !plan.filter_layers.empty() && !plan.maps() && c.layers.empty() && !c.all && c.images.empty() &&
           c.misclassified.empty() && c.channels.empty();
  }
  // Pictures of image i go next to the NPY files for one image, else into <out>/<stem>/.
  std::string dir_of(const std::string& out, size_t i) const { return in.size() == 1 ? out : out + "/" + in.stems[i]; }
};

// How images are read: as in training, at the model's size with the run's interpolation; a bad
// photo is skipped with a warning.
LoadOptions load_options(const Request& r) {
  LoadOptions lo;
  lo.height = r.graph->spec().height;
  lo.width = r.graph->spec().width;
  lo.classes = head_classes(*r.graph);  // --misclassified: a folder per class of the head
  const auto interp = r.ckpt.meta.find("interpolation");
  if (interp != r.ckpt.meta.end()) lo.interpolation = interp->second;
  lo.warn = [](const std::string& m) { std::fprintf(stderr, "warning: %s\n", m.c_str()); };
  return lo;
}

// Checks the rest of the request (layers, channels, images, output folder) before anything is
// written, so a bad one leaves the output folder as it was.
void prepare(const DumpConfig& c, Request& r) {
  const Graph& g = *r.graph;
  if (g.spec().channels != 3)
    fail(r.ckpt_path, ": the model takes ", g.spec().channels, " channels; dump_acts feeds RGB photos (3)");
  if (c.batch_size <= 0) fail("--batch-size must be positive");
  r.classes = class_names_of(g, r.ckpt.meta, c.classes);
  r.plan = plan_explain(c, g, r.classes);
  if (!c.misclassified.empty() && !c.images.empty())
    throw BadRequest("--misclassified and --image exclude each other: the photos are those of the split; drop one");
  // Heatmaps or filters alone: no activations unless --layer/--all asks for them too.
  const bool activations = !r.plan.any() || !c.layers.empty() || c.all;
  if (activations)
    for (int i : select_layers(g, c.layers, c.all)) {
      // Each name becomes OUT/NAME.npy and NAME.png: never a path that leaves OUT (the model
      // reader refuses such names already; this holds whatever the graph came from).
      const std::string& name = g.nodes()[size_t(i)].spec.name;
      if (!is_valid_layer_name(name))
        fail(r.ckpt_path, ": layer ", i + 1, "'s name is not a valid layer name (Keras' rule ", kLayerNameRule,
             ") and cannot name its files; rename it");
      r.targets.push_back({&g.nodes()[size_t(i)], {}, nullptr, {}});
    }
  assign_channels(r.targets, c.channels);

  const LoadOptions lo = load_options(r);
  if (!c.misclassified.empty()) {
    r.misclassified = true;
    r.split = load_split(split_folder("--misclassified", c.misclassified, r.ckpt.meta, r.ckpt_path), lo);
  } else if (!r.filters_only(c)) {
    const std::vector<ImageRef> refs =
        c.images.empty() ? std::vector<ImageRef>{default_image(r.ckpt.meta, r.ckpt_path)} : expand_image_args(c.images);
    r.in = load_inputs(refs, lo);
    if (r.in.size() == 0) fail("--image: no images to dump");  // each source throws first; never a 0-image batch
  }
  prepare_out(c.out, r.made);
}

// One folder per image when there are several (and pictures to put there).
void prepare_image_folders(const DumpConfig& c, Request& r) {
  if (c.painter && r.in.size() > 1)
    for (size_t i = 0; i < r.in.size(); ++i) prepare_out(r.dir_of(c.out, i), r.made);
}

// The forward passes, batch by batch: each dumped layer's output is copied back, appended to
// its NPY file and drawn per image.
void run_batches(const DumpConfig& c, Request& r, Backend& be, Backend* b_be) {
  const size_t n = r.in.size(), batch = size_t(be.options().max_batch);
  const std::vector<std::string>& classes = r.classes;
  r.predictions.resize(n);
  for (size_t first = 0; first < n; first += batch) {
    pause_point("dump-batch");  // the signal tests' hook
    throw_if_stopped(c.out, first, n);
    Batch b;
    b.n = int(std::min(n - first, batch));
    b.images = r.in.image(first);  // uint8; the backend rescales on its device
    b.scale = r.scale;
    be.forward(b, false);
    const std::vector<float> p = be.predictions();  // (b.n, units): the head's sigmoid/softmax outputs
    const size_t units = p.size() / size_t(b.n);
    for (int j = 0; j < b.n; ++j)
      r.predictions[first + size_t(j)] = prediction_text(be.graph(), &p[size_t(j) * units], classes);
    for (Target& t : r.targets) {
      be.activation(t.node->spec.name, t.host);  // (b.n, out_shape...)
      t.npy->append(t.host.data(), t.host.size());
    }
    if (b_be) {  // --compare: the same batch through model B, and B - A
      b_be->forward(b, false);
      for (Target& t : r.targets) {
        b_be->activation(t.node->spec.name, t.b_host);
        t.diff.resize(t.host.size());
        for (size_t k = 0; k < t.host.size(); ++k) t.diff[k] = t.b_host[k] - t.host[k];
        t.b_npy->append(t.b_host.data(), t.b_host.size());
        t.diff_npy->append(t.diff.data(), t.diff.size());
      }
    }
    // The maps last: Score-CAM and SmoothGrad run forward passes of their own.
    const auto dir_of = [&](size_t i) { return r.dir_of(c.out, i); };
    if (r.heat) r.heat->add_batch(be, b, first, r.in, dir_of, c.heatmap_painter);
    if (!c.painter) continue;
    // The pictures, one image per task on the CPU threads: PNG encoding is most of a dump's time
    // (drawing 30 photos' 11 layers took 9.3 s on one thread of 2).
    cpu_fast::parallel_for(b.n, [&](int j, int) {
      const size_t i = first + size_t(j);
      const std::string dir = r.dir_of(c.out, i);
      for (const Target& t : r.targets) {
        const LayerPicture pic{t.node->spec.name, layer_type_name(t.node->spec.type), t.node->out_shape,
                               t.host.data() + size_t(j) * t.node->out_size};
        c.painter->layer(dir + "/" + pic.name + ".png", pic);
        if (b_be) {
          const size_t at = size_t(j) * t.node->out_size;
          c.painter->layer(dir + "/" + pic.name + "_b.png",
                           LayerPicture{pic.name, pic.type, pic.shape, t.b_host.data() + at});
          c.painter->layer(dir + "/" + pic.name + "_diff.png",
                           LayerPicture{pic.name, pic.type, pic.shape, t.diff.data() + at});
        }
        for (int k : t.channels) c.painter->channel(dir + "/" + pic.name + "_ch" + std::to_string(k) + ".png", pic, k);
      }
      c.painter->input(dir + "/input.png", r.in.image(i), r.in.height, r.in.width);
    });
  }
}

// --animate: the same images through every kept epoch's weights; each layer's grid per image a
// frame of NAME_epochs.webp. The backend keeps the last epoch's weights after.
void animate_epochs(const DumpConfig& c, Request& r, Backend& be) {
  const size_t n = r.in.size(), T = r.targets.size(), batch = size_t(be.options().max_batch);
  std::vector<std::unique_ptr<LayerAnimation>> anims(n * T);
  for (size_t i = 0; i < n; ++i)
    for (size_t t = 0; t < T; ++t)
      anims[i * T + t] = c.painter->animation(r.dir_of(c.out, i) + "/" + r.targets[t].node->spec.name + "_epochs.webp");
  std::printf("Animating over %zu kept epochs (%d ... %d)\n", r.epochs.size(), r.epochs.front().first,
              r.epochs.back().first);
  for (const auto& [epoch, path] : r.epochs) {
    const Checkpoint ck = load_checkpoint(path);
    check_same_architecture(ck, *r.graph, path);
    be.set_params(ck.params);
    const std::string caption = "epoch " + std::to_string(epoch) + " (" + fs::path(path).filename().string() + ")";
    for (size_t first = 0; first < n; first += batch) {
      pause_point("dump-batch");
      throw_if_stopped(c.out, first, n);
      Batch b;
      b.n = int(std::min(n - first, batch));
      b.images = r.in.image(first);
      b.scale = r.scale;
      be.forward(b, false);
      for (size_t t = 0; t < T; ++t) {
        Target& tg = r.targets[t];
        be.activation(tg.node->spec.name, tg.host);
        cpu_fast::parallel_for(b.n, [&](int j, int) {
          const LayerPicture pic{tg.node->spec.name, layer_type_name(tg.node->spec.type), tg.node->out_shape,
                                 tg.host.data() + size_t(j) * tg.node->out_size};
          anims[(first + size_t(j)) * T + t]->add(pic, caption);
        });
      }
    }
  }
  cpu_fast::parallel_for(int(anims.size()), [&](int k, int) { anims[size_t(k)]->commit(); });
}

// misclassified.html: each misclassified photo with its true class, prediction and heatmaps.
void write_misclassified_page(const DumpConfig& c, const Request& r) {
  MisclassifiedPage p;
  p.model = r.model_text;
  p.split = r.mis.folder;
  p.total = r.mis.total;
  p.back = "index.html";
  if (r.heat) p.heat_layer = r.heat->layer();
  const size_t n = r.in.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string dir = n == 1 ? "" : r.in.stems[i] + "/";  // from OUT to the photo's folder
    MisclassifiedEntry e;
    e.page = dir + "index.html";
    e.thumb = dir + "input.png";
    e.source = r.in.sources[i];
    e.truth = r.mis.truth[i];
    e.prediction = r.mis.predicted[i];
    if (r.heat) e.heatmaps = r.heat->page(i, "", c.heatmap_painter != nullptr);
    for (PageClass& pc : e.heatmaps)
      for (PageMap& m : pc.maps) {
        if (!m.png.empty()) m.png = dir + m.png;
        if (c.heatmap_painter) m.npy = dir + m.npy;
      }
    p.images.push_back(std::move(e));
  }
  write_file_atomic(c.out + "/misclassified.html", misclassified_page_html(p));
}

// index.html per image (and an overview for several), linking only what this dump wrote.
void write_pages(const DumpConfig& c, const Request& r) {
  const size_t n = r.in.size();
  const std::string up = n == 1 ? "" : "../";
  OverviewPage overview;
  overview.model = r.model_text;
  for (const Target& t : r.targets)
    overview.npys.push_back({t.node->spec.name + ".npy", batch_shape(n, t.node->out_shape)});
  if (r.heat)
    for (const auto& f : r.heat->npys()) overview.npys.push_back(f);
  for (const PageFilters& f : r.filters) overview.npys.push_back({f.npy, f.shape});
  overview.filters = r.filters;
  if (r.misclassified) overview.misclassified = "misclassified.html";
  for (size_t i = 0; i < n; ++i) {
    ImagePage page;
    page.source = r.in.sources[i];
    page.model = r.model_text;
    page.compare_model = r.compare_text;
    page.prediction = r.predictions[i];
    page.input_png = "input.png";
    page.input_shape = batch_shape(1, r.graph->input_shape());
    page.row = long(i);
    page.rows = long(n);
    page.back = n == 1 ? "" : "../index.html";
    if (r.heat) {
      page.heat_layer = r.heat->layer();
      page.heatmaps = r.heat->page(i, up, c.heatmap_painter != nullptr);
    }
    if (n == 1) page.filters = r.filters;
    if (r.misclassified) {
      page.truth = r.mis.truth[i];
      page.misclassified = up + "misclassified.html";
    }
    for (const Target& t : r.targets) {
      const std::string& name = t.node->spec.name;
      PageLayer l;
      l.name = name;
      l.type = layer_type_name(t.node->spec.type);
      l.shape = batch_shape(1, t.node->out_shape);
      l.png = name + ".png";
      l.npy = up + name + ".npy";
      for (int k : t.channels) l.channels.push_back({k, name + "_ch" + std::to_string(k) + ".png"});
      if (!r.epochs.empty()) {
        l.animation = name + "_epochs.webp";
        l.animation_text = "over the run's " + std::to_string(r.epochs.size()) + " kept epochs (" +
                           std::to_string(r.epochs.front().first) + " ... " + std::to_string(r.epochs.back().first) +
                           "), a frame each";
      }
      if (!r.compare_text.empty()) {
        l.compare_png = name + "_b.png";
        l.diff_png = name + "_diff.png";
        l.compare_npy = up + name + "_b.npy";
        l.diff_npy = up + name + "_diff.npy";
      }
      page.layers.push_back(l);
    }
    write_file_atomic(r.dir_of(c.out, i) + "/index.html", image_page_html(page));
    overview.images.push_back({r.in.stems[i], r.in.sources[i], r.predictions[i]});
  }
  if (n != 1) write_file_atomic(c.out + "/index.html", overview_page_html(overview));
  if (r.misclassified) write_misclassified_page(c, r);
}

// A checkpoint, or a Keras file (with `config_json`, the architecture of a weights-only one).
Checkpoint read_model(const std::string& path, const std::string& config_json) {
  if (is_keras_model_file(path)) {
    KerasReadOptions o;
    o.config_json = config_json;
    KerasModel k = load_keras_model(path, o);
    std::printf("Read %s: %s\n", path.c_str(), k.format.c_str());
    return std::move(k.ckpt);
  }
  if (!config_json.empty())
    fail("--config ", config_json, ": only weights-only Keras files take an architecture; ", path,
         " has its own; drop --config");
  return load_checkpoint(path);
}

// --compare: model B, which must be model A's architecture (another epoch of the run, a
// fine-tune), for activations only; its inputs are A's (A's rescale).
void open_compare(const DumpConfig& c, Request& r) {
  if (c.compare.empty()) return;
  if (r.plan.any() || r.misclassified)
    throw BadRequest("--compare sets two models' activations side by side; run the heatmaps, filters or "
                     "--misclassified without it");
  if (r.targets.empty()) throw BadRequest("--compare needs layers to compare: give --layer or --all");
  const std::string path = resolve_checkpoint(c.compare);
  const Checkpoint b = read_model(path, c.config_json);
  check_same_architecture(b, *r.graph, path);
  r.compare_params = b.params;
  r.compare_text = path;
}

// --animate: the run's kept epochs (RUN/epochs/epoch_NNN.safetensors, RUN being the folder of
// --model's checkpoint, or the run whose epochs/ holds it), checked before anything is written.
void open_animation(const DumpConfig& c, Request& r) {
  if (!c.animate) return;
  if (r.plan.any() || r.misclassified || !r.compare_text.empty())
    throw BadRequest("--animate draws the layers over a run's epochs; run the heatmaps, filters, --misclassified and "
                     "--compare without it");
  if (r.targets.empty()) throw BadRequest("--animate needs layers: give --layer or --all");
  if (!c.painter) throw BadRequest("--animate draws pictures, which this build cannot (built without OpenCV)");
  if (!c.painter->animation(c.out + "/probe.webp"))
    throw BadRequest("--animate: this build cannot write animations (built without libwebp); install libwebp-dev "
                     "and rebuild");
  fs::path run = fs::path(r.ckpt_path).parent_path();
  if (run.filename() == "epochs") run = run.parent_path();
  const fs::path dir = (run.empty() ? fs::path(".") : run) / "epochs";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    std::smatch m;
    static const std::regex kKept("epoch_([0-9]{3,9})\\.safetensors");  // Run::save_kept's names
    if (std::regex_match(name, m, kKept))
      r.epochs.push_back({std::stoi(m[1].str()), e.path().string()});
  }
  std::sort(r.epochs.begin(), r.epochs.end());
  if (r.epochs.size() < 2)
    fail(dir.string(), ": ", r.epochs.size(), " kept epoch", r.epochs.size() == 1 ? "" : "s",
         "; --animate needs at least 2: train with --keep-every N (train_gpu --help)");
}

// The checkpoint (--model, runs/latest by default) and its graph; model_text names the real
// file behind runs/latest too.
void open_model(const DumpConfig& c, Request& r) {
  r.ckpt_path = resolve_checkpoint(c.model);
  r.ckpt = read_model(r.ckpt_path, c.config_json);
  // The rescale Keras files do not record: --rescale, else the run's, else the tutorial's 1/255
  // (1 for a model whose first layer is a Rescaling: it scales the pixels itself).
  const auto scale = r.ckpt.meta.find("rescale");
  const bool own = rescales_its_input(r.ckpt.model);
  r.scale = c.rescale > 0                  ? c.rescale
            : scale != r.ckpt.meta.end() ? float(meta_real(r.ckpt, "rescale", r.ckpt_path, 1e-30, 1e30))
            : own                        ? 1.f
                                         : 1.f / 255.f;
  if (own && c.rescale <= 0 && scale == r.ckpt.meta.end())
    std::printf("Input: pixels 0-255 as they are (the model's Rescaling layer scales them; --rescale to "
                "change)\n");
  std::error_code ec;
  const std::string real = fs::canonical(r.ckpt_path, ec).string();  // which run runs/latest was
  r.model_text = (ec || real == r.ckpt_path) ? r.ckpt_path : r.ckpt_path + " (" + real + ")";
  r.graph = std::make_unique<Graph>(r.ckpt.model);
}

// The backend (--device), batches of at most --batch-size images, with `params` (the checkpoint's;
// --compare's for model B, `which` "Model B").
std::unique_ptr<Backend> start_backend(const DumpConfig& c, const Request& r, const std::vector<float>& params,
                                       const char* which, const std::string& text) {
  BackendOptions bo;
  // Score-CAM's masked inputs, SmoothGrad's copies, the filters and a split's photos come in
  // batches of their own: those get --batch-size whatever the number of images.
  const bool own_batches = r.plan.any() || r.misclassified;
  bo.max_batch = int(own_batches ? size_t(c.batch_size) : std::min<size_t>(r.in.size(), size_t(c.batch_size)));
  std::string warning;
  std::unique_ptr<Backend> be = make_backend(c.device, *r.graph, bo, &warning);
  if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
  be->set_params(params);
  std::printf("%s: %s on %s\n", which, text.c_str(), be->name().c_str());
  return be;
}

// Says what is dumped and opens each layer's NPY stream (removed again unless committed).
void open_outputs(const DumpConfig& c, Request& r) {
  const size_t n = r.in.size();
  if (n == 0) return;  // filter patterns only, or no misclassified photo
  if (n == 1)
    std::printf("Image: %s\n", r.in.sources[0].c_str());
  else
    std::printf("Images: %zu (%s ... %s)\n", n, r.in.sources.front().c_str(), r.in.sources.back().c_str());
  // The tutorial's shape printouts: img_tensor.shape, then each activation's shape.
  std::printf("input: %s\n", batch_shape(n, r.graph->input_shape()).c_str());
  for (Target& t : r.targets) {
    std::vector<size_t> shape = {n};
    for (int d : t.node->out_shape) shape.push_back(size_t(d));
    t.npy = std::make_unique<NpyStream>(c.out + "/" + t.node->spec.name + ".npy", shape);
    std::printf("%s: %s\n", t.node->spec.name.c_str(), batch_shape(n, t.node->out_shape).c_str());
    if (r.compare_text.empty()) continue;
    t.b_npy = std::make_unique<NpyStream>(c.out + "/" + t.node->spec.name + "_b.npy", shape);
    t.diff_npy = std::make_unique<NpyStream>(c.out + "/" + t.node->spec.name + "_diff.npy", shape);
  }
  if (r.plan.maps()) r.heat = std::make_unique<HeatmapDump>(r.plan, *r.graph, c.out, n);
  std::fflush(stdout);
}

// After the last batch: the NPY files and folders kept, images.txt, the first predictions, the
// pages, and where to look.
void finish_dump(const DumpConfig& c, Request& r) {
  const size_t n = r.in.size();
  for (Target& t : r.targets) {
    t.npy->commit();
    if (t.b_npy) t.b_npy->commit();
    if (t.diff_npy) t.diff_npy->commit();
  }
  if (r.heat) r.heat->commit();
  r.made.keep();
  std::string list;
  for (const std::string& s : r.in.sources) list += s + "\n";
  if (n > 0) write_file_atomic(c.out + "/images.txt", list);
  for (size_t i = 0; i < n && i < 10; ++i) std::printf("%s: %s\n", r.in.sources[i].c_str(), r.predictions[i].c_str());
  if (n > 10) std::printf("(predictions of all %zu images: %s/index.html)\n", n, c.out.c_str());
  const char* s = r.targets.size() == 1 ? "" : "s";
  std::string what = r.targets.empty() ? "" : std::to_string(r.targets.size()) + " layer" + s;
  if (r.heat) what += (what.empty() ? "" : ", ") + (r.plan.layer.empty() ? "saliency" : "heatmaps of " + r.plan.layer);
  if (!r.filters.empty()) what += (what.empty() ? "" : ", ") + std::string("filter patterns");
  if (what.empty()) what = "no layer";  // --misclassified found every photo right
  if (!c.painter) {
    std::printf("Wrote %s to %s/ as NPY (built without OpenCV: no pictures, no index.html)\n", what.c_str(),
                c.out.c_str());
    return;
  }
  write_pages(c, r);
  std::printf("Wrote %s to %s/: open %s/%s\n", what.c_str(), c.out.c_str(), c.out.c_str(),
              r.misclassified ? "misclassified.html" : "index.html");
}

// --top's layers: --layer/--all, else the conv layers (conv_layers, top_images.h).
std::vector<const Node*> top_layers(const DumpConfig& c, const Graph& g) {
  std::vector<const Node*> layers;
  if (!c.layers.empty() || c.all) {
    for (int i : select_layers(g, c.layers, c.all)) layers.push_back(&g.nodes()[size_t(i)]);
  } else {
    layers = conv_layers(g);
    if (layers.empty()) throw BadRequest("--top: the model has no conv layer; name the layers with --layer");
  }
  for (const Node* nd : layers)
    if (!is_valid_layer_name(nd->spec.name))  // it names files, as in prepare()
      fail(nd->spec.name, ": not a valid layer name (Keras' rule ", kLayerNameRule, ") and cannot name its files");
  return layers;
}

// dump_acts --top N (top_images.h): one pass over a dataset, then the numbers, crops and pages.
void dump_top(const DumpConfig& c, Request& r) {
  if (!c.images.empty() || !c.compare.empty() || !c.misclassified.empty() || !c.cams.empty() || c.saliency ||
      c.smoothgrad > 0 || !c.filters.empty() || !c.channels.empty())
    throw BadRequest("--top runs over a whole dataset (--data) on its own; run --image, --compare, --channel, "
                     "--misclassified, the heatmaps and --filters without it");
  if (c.batch_size <= 0) fail("--batch-size must be positive");
  if (r.graph->spec().channels != 3)  // as prepare() refuses it for the other dumps
    fail(r.ckpt_path, ": the model takes ", r.graph->spec().channels, " channels; dump_acts feeds RGB photos (3)");
  const std::vector<const Node*> layers = top_layers(c, *r.graph);
  const std::string folder = split_folder("--data", c.data.empty() ? "train" : c.data, r.ckpt.meta, r.ckpt_path);
  if (!fs::is_directory(folder))
    fail(folder, ": no such folder (--data: train, validation, test or a folder of images, in class sub-folders "
         "or not, or of x.npy)");
  const std::vector<ImageRef> refs = fs::exists(folder + "/x.npy") ? std::vector<ImageRef>{{folder + "/x.npy", -1, folder}}
                                                                   : expand_image_args({folder});
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  r.in = load_inputs(refs, load_options(r));  // decoded up front: height x width x 3 bytes a photo
  const double decode_s = std::chrono::duration<double>(Clock::now() - t0).count();
  prepare_out(c.out, r.made);
  const SignalScope signals(c.handle_signals);
  const std::unique_ptr<Backend> be = start_backend(c, r, r.ckpt.params, "Model", r.model_text);
  const size_t n = r.in.size();
  std::printf("Top %d images per channel of %zu layer%s over %zu images of %s\n", c.top, layers.size(),
              layers.size() == 1 ? "" : "s", n, folder.c_str());
  std::fflush(stdout);
  size_t shown = 0;
  const auto t1 = Clock::now();
  const std::vector<TopN> tops = find_top_images(*be, r.in, r.scale, layers, c.top, [&](size_t done) {
    pause_point("dump-batch");  // the signal tests' hook
    throw_if_stopped(c.out, done, n);
    if (done == n || done >= shown + std::max<size_t>(n / 10, 1)) {
      std::printf("  %zu/%zu images\n", done, n);
      std::fflush(stdout);
      shown = done;
    }
  });
  const double pass_s = std::chrono::duration<double>(Clock::now() - t1).count();
  std::printf("Decoded %zu images in %.1f s; the pass took %.1f s (%.0f images/s)\n", n, decode_s, pass_s,
              double(n) / std::max(pass_s, 1e-9));
  TopOutput o;
  o.out = c.out;
  o.model = r.model_text;
  o.data = folder;
  o.graph = r.graph.get();
  o.in = &r.in;
  o.layers = layers;
  o.tops = &tops;
  o.painter = c.painter;
  write_top_images(o);
  r.made.keep();
  if (c.painter)
    std::printf("Wrote the top images of %zu layer%s to %s/: open %s/index.html\n", layers.size(),
                layers.size() == 1 ? "" : "s", c.out.c_str(), c.out.c_str());
  else
    std::printf("Wrote the top images of %zu layer%s to %s/ as NPY and JSON (built without OpenCV: no crops, no "
                "pages)\n", layers.size(), layers.size() == 1 ? "" : "s", c.out.c_str());
}

}  // namespace

void dump_activations(const DumpConfig& c) {
  Request r;
  open_model(c, r);
  if (c.list_layers) {
    std::printf("Layers of %s:\n%s", r.ckpt_path.c_str(), layer_table(*r.graph).c_str());
    return;
  }
  if (c.top > 0) return dump_top(c, r);
  prepare(c, r);
  open_compare(c, r);
  open_animation(c, r);
  const SignalScope signals(c.handle_signals);  // from here on folders and files are being written
  const std::unique_ptr<Backend> be = start_backend(c, r, r.ckpt.params, "Model", r.model_text);
  const std::unique_ptr<Backend> b_be =
      r.compare_text.empty() ? nullptr : start_backend(c, r, r.compare_params, "Model B", r.compare_text);
  if (r.misclassified) {
    r.in = select_misclassified(*be, r.split, r.scale, r.classes, r.mis);
    r.split = Dataset{};  // the split's pixels: only the misclassified ones are kept (in r.in)
  }
  prepare_image_folders(c, r);
  open_outputs(c, r);
  run_batches(c, r, *be, b_be.get());
  throw_if_stopped(c.out, r.in.size(), r.in.size());
  if (!r.epochs.empty()) animate_epochs(c, r, *be);
  const auto stop_before = [&](const std::string& layer) {
    pause_point("dump-filters");  // the signal tests' hook
    if (stop_requested())
      throw Interrupted("the dump into " + c.out + "/ was stopped before the filter patterns of " + layer +
                        ": its unfinished NPY files were removed (files already written are kept); run it again "
                        "to get them");
  };
  r.filters = dump_filter_patterns(r.plan, *be, r.scale, c.out, c.painter, stop_before);
  throw_if_stopped(c.out, r.in.size(), r.in.size());  // during the last layer
  finish_dump(c, r);
}

}  // namespace acts
