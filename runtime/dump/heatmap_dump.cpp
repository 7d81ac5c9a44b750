// dump_acts' heatmaps, saliency and filter patterns; see heatmap_dump.h.
#include "heatmap_dump.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "kernels/cpu/activations.h"
#include "runtime/core/npy.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "runtime/explain/class_score.h"
#include "runtime/explain/filter_patterns.h"
#include "runtime/explain/saliency.h"

namespace acts {

namespace {

template <typename... Args>
[[noreturn]] void bad_request(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw BadRequest(os.str());
}

const CamMethod kAllMethods[] = {CamMethod::kGradCam, CamMethod::kGradCamPlusPlus, CamMethod::kLayerCam,
                                 CamMethod::kScoreCam, CamMethod::kGradCamSum};

std::string method_list() {
  std::string s;
  for (CamMethod m : kAllMethods) s += std::string(s.empty() ? "" : ", ") + cam_method_name(m);
  return s;
}

// "gradcam" etc. (or "all") into methods, in the order given, duplicates dropped.
std::vector<CamMethod> parse_methods(const std::vector<std::string>& names) {
  std::vector<CamMethod> out;
  auto add = [&](CamMethod m) {
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  };
  for (const std::string& n : names) {
    if (n == "all") {
      for (CamMethod m : kAllMethods) add(m);
      continue;
    }
    bool known = false;
    for (CamMethod m : kAllMethods)
      if (n == cam_method_name(m)) add(m), known = true;
    if (!known) bad_request("--cam ", n, ": not a heatmap method; use ", method_list(), " or all");
  }
  return out;
}

// "2.310": scores and probabilities as the pages print them.
std::string number(double v, const char* fmt = "%.4f") {
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// A class name as part of a file name: bytes outside [A-Za-z0-9._-] become '_'.
std::string file_tag(const std::string& name) {
  std::string t;
  for (unsigned char ch : name) t += (std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-') ? char(ch) : '_';
  return t;
}

// A layer whose output is (H, W, C), or BadRequest naming the flag, the layer and the candidates.
void require_conv_layer(const Graph& g, const std::string& flag, const std::string& name, const char* why) {
  std::string conv;
  for (const Node& n : g.nodes())
    if (n.out_shape.size() == 3) conv += (conv.empty() ? "" : ", ") + n.spec.name;
  const int i = g.find(name);
  if (i < 0) bad_request(flag, " ", name, ": no such layer; choose one of ", conv);
  const Node& n = g.nodes()[size_t(i)];
  if (n.out_shape.size() != 3)
    bad_request(flag, " ", name, ": ", layer_type_name(n.spec.type), " output ", batch_shape(1, n.out_shape),
                " has no (H, W, C) maps ", why, "; choose one of ", conv);
}

}  // namespace

ExplainPlan plan_explain(const DumpConfig& c, const Graph& g, const std::vector<std::string>& names) {
  ExplainPlan p;
  p.methods = parse_methods(c.cams);
  if (!c.misclassified.empty() && p.methods.empty() && !c.saliency && c.smoothgrad == 0)
    p.methods.push_back(CamMethod::kGradCam);  // misclassified photos get heatmaps: the book's by default
  p.saliency = c.saliency;
  p.smoothgrad = c.smoothgrad;
  p.noise = c.smoothgrad_noise;
  p.seed = c.seed;
  p.filter_steps = c.filter_steps;
  p.filter_eps = c.filter_eps;
  if (c.smoothgrad < 0) bad_request("--smoothgrad ", c.smoothgrad, ": give the number of noisy samples, 1 or more");
  if (!(c.smoothgrad_noise >= 0) || !std::isfinite(c.smoothgrad_noise))
    bad_request("--smoothgrad-noise ", c.smoothgrad_noise, ": give a fraction of the input's range, e.g. 0.2");
  if (c.filter_steps < 1) bad_request("--filter-steps ", c.filter_steps, ": give 1 or more (the book's 40)");
  if (!c.cam_layer.empty() && p.methods.empty())
    bad_request("--cam-layer ", c.cam_layer, ": only heatmaps use a layer; add --cam METHOD");
  if (!c.cam_classes.empty() && !p.maps())
    bad_request("--class: only heatmaps and saliency are per class; add --cam METHOD or --saliency");

  const int count = class_count(g);
  for (int k = 0; k < count; ++k) {
    p.class_names.push_back(size_t(k) < names.size() && names.size() == size_t(count) ? names[size_t(k)]
                                                                                      : "class " + std::to_string(k));
    p.class_tags.push_back(file_tag(p.class_names.back()));
  }
  // Two names that become one file name ("a b" and "a_b", or --classes x,x) would overwrite each
  // other's files: then every tag gets its index.
  std::vector<std::string> sorted = p.class_tags;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    for (int k = 0; k < count; ++k) p.class_tags[size_t(k)] += "-" + std::to_string(k);
  std::string known;
  for (int k = 0; k < count; ++k) known += (k ? ", " : "") + std::to_string(k) + " (" + p.class_names[size_t(k)] + ")";
  for (const std::string& name : c.cam_classes) {
    int k = -1;
    const auto it = std::find(p.class_names.begin(), p.class_names.end(), name);
    if (it != p.class_names.end()) {
      k = int(it - p.class_names.begin());
    } else if (!name.empty() && name.size() < 10 &&
               std::all_of(name.begin(), name.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
      k = std::stoi(name);
      if (k >= count) bad_request("--class ", name, ": out of range; the model has ", count, " classes: ", known);
    } else {
      bad_request("--class ", name, ": not a class of this model; give a name or an index: ", known);
    }
    if (std::find(p.classes.begin(), p.classes.end(), k) == p.classes.end()) p.classes.push_back(k);
  }
  if (p.classes.empty())
    for (int k = 0; k < count; ++k) p.classes.push_back(k);

  if (!p.methods.empty()) {  // saliency differentiates the input: no layer needed
    const bool any_maps =
        std::any_of(g.nodes().begin(), g.nodes().end(), [](const Node& n) { return n.out_shape.size() == 3; });
    if (!any_maps)
      bad_request("--cam ", cam_method_name(p.methods.front()),
                  ": the model has no layer with (H, W, C) maps to draw heatmaps of (its layers: ", g.layer_names(),
                  "); use --saliency");
    if (c.cam_layer.empty()) {
      p.layer = default_cam_layer(g);
    } else {
      require_conv_layer(g, "--cam-layer", c.cam_layer, "for a heatmap");
      p.layer = c.cam_layer;
    }
  }
  for (const std::string& l : c.filters) {
    require_conv_layer(g, "--filters", l, "to draw filter patterns of");
    if (std::find(p.filter_layers.begin(), p.filter_layers.end(), l) == p.filter_layers.end())
      p.filter_layers.push_back(l);
  }
  return p;
}

HeatmapDump::HeatmapDump(const ExplainPlan& p, const Graph& g, const std::string& out, size_t n)
    : plan_(p), g_(g), scores_(n), probs_(n) {
  const Node& head = g.nodes().back();
  sigmoid_ = head.out_size == 1 && head.spec.activation == Act::Sigmoid;
  for (CamMethod m : p.methods) {
    const Node& layer = g.node(p.layer);  // an (H, W, C) layer: plan_explain() checked it
    Kind k;
    k.file = std::string("cam_") + cam_method_name(m);
    k.label = cam_method_name(m);
    k.method = m;
    k.h = layer.out_shape[0];
    k.w = layer.out_shape[1];
    kinds_.push_back(std::move(k));
  }
  auto add_saliency = [&](const char* name, int samples) {
    Kind k;
    k.file = k.label = name;
    k.cam = false;
    k.samples = samples;
    k.h = g.spec().height;
    k.w = g.spec().width;
    kinds_.push_back(std::move(k));
  };
  if (p.saliency) add_saliency("saliency", 0);
  if (p.smoothgrad > 0) add_saliency("smoothgrad", p.smoothgrad);
  const size_t classes = p.classes.size();
  for (Kind& k : kinds_) {
    k.npy = std::make_unique<NpyStream>(out + "/" + k.file + ".npy",
                                        std::vector<size_t>{n, classes, size_t(k.h), size_t(k.w)});
    std::printf("%s: %s\n", k.file.c_str(), batch_shape(n, {int(classes), k.h, k.w}).c_str());
  }
}

void HeatmapDump::add_batch(Backend& be, const Batch& b, size_t first, const Inputs& in,
                            const std::function<std::string(size_t)>& dir_of, HeatmapPainter* painter) {
  const std::vector<float> logits = be.logits();  // of the forward just run, before the maps run their own
  const size_t classes = plan_.classes.size();
  for (size_t k = 0; k < classes; ++k) {
    const std::vector<float> s = class_score_values(g_, logits, b.n, plan_.classes[k]);
    for (int j = 0; j < b.n; ++j) scores_[first + size_t(j)].push_back(s[size_t(j)]);
  }
  if (!sigmoid_) {  // a softmax head: its probabilities, from the logits (max-subtracted)
    const size_t units = g_.nodes().back().out_size;
    std::vector<float> p(units);
    for (int j = 0; j < b.n; ++j) {
      cpu::softmax_forward(&logits[size_t(j) * units], p.data(), units, units);
      for (int cls : plan_.classes) probs_[first + size_t(j)].push_back(p[size_t(cls)]);
    }
  }
  // Every heatmap method at once: the gradient methods share one forward and gradient per class.
  std::vector<CamMethod> methods;
  for (const Kind& k : kinds_)
    if (k.cam) methods.push_back(k.method);
  CamRequest request;
  request.layer = plan_.layer;
  request.classes = plan_.classes;
  std::vector<CamMaps> cams = methods.empty() ? std::vector<CamMaps>() : compute_cams(be, b, request, methods);
  size_t next_cam = 0;
  std::vector<std::vector<float>> maps;  // per kind: (b.n, classes, h, w)
  for (Kind& k : kinds_) {
    if (k.cam) {
      maps.push_back(std::move(cams[next_cam++].maps));
    } else {
      SaliencyRequest r;
      r.classes = plan_.classes;
      r.samples = k.samples;
      r.noise = plan_.noise;
      r.seed = plan_.seed + first;  // every batch its own noise, the whole dump reproducible
      maps.push_back(compute_saliency(be, b, r).maps);
    }
    const size_t want = size_t(b.n) * classes * size_t(k.h) * k.w;
    if (maps.back().size() != want)
      fail(k.file, ": the explain library returned ", maps.back().size(), " values, expected ", want,
           " (internal error)");
    k.npy->append(maps.back().data(), want);
  }
  if (!painter) return;
  // Each photo's own-size maps and overlays, one photo per task (decoding and PNG encoding dominate).
  cpu_fast::parallel_for(b.n, [&](int j, int) {
    const size_t i = first + size_t(j);
    const Photo photo = painter->photo(in.files[i], in.image(i), in.height, in.width);
    std::vector<float> big;
    for (size_t m = 0; m < kinds_.size(); ++m) {
      const Kind& k = kinds_[m];
      for (size_t c = 0; c < classes; ++c) {
        const float* map = maps[m].data() + ((size_t(j) * classes + c) * k.h) * k.w;
        painter->resize(map, k.h, k.w, photo.height, photo.width, big);
        const std::string base = dir_of(i) + "/" + k.file + "_" + plan_.class_tags[size_t(plan_.classes[c])];
        write_npy(base + ".npy", big.data(), {size_t(photo.height), size_t(photo.width)});
        painter->overlay(base + ".png", photo, big.data());
      }
    }
  });
}

void HeatmapDump::commit() {
  for (Kind& k : kinds_) k.npy->commit();
}

std::vector<PageClass> HeatmapDump::page(size_t i, const std::string& up, bool pictures) const {
  std::vector<PageClass> out;
  for (size_t c = 0; c < plan_.classes.size(); ++c) {
    const int cls = plan_.classes[c];
    PageClass pc;
    pc.name = plan_.class_names[size_t(cls)];
    const float s = scores_[i][c];
    pc.score = "score " + number(s, "%.3f") + (sigmoid_ ? (cls == 1 ? " (z, the logit)" : " (-z)") : " (logit)");
    if (sigmoid_) pc.score += ", P = " + number(1.0 / (1.0 + std::exp(-double(s))));  // sigmoid(-z) = 1 - p
    else pc.score += ", P = " + number(probs_[i][c]);  // softmax
    for (const Kind& k : kinds_) {
      const std::string base = k.file + "_" + plan_.class_tags[size_t(cls)];
      pc.maps.push_back({k.label, pictures ? base + ".png" : "", pictures ? base + ".npy" : up + k.file + ".npy"});
    }
    out.push_back(std::move(pc));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> HeatmapDump::npys() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Kind& k : kinds_)
    out.push_back({k.file + ".npy", batch_shape(scores_.size(), {int(plan_.classes.size()), k.h, k.w})});
  return out;
}

std::vector<PageFilters> dump_filter_patterns(const ExplainPlan& p, Backend& be, float rescale, const std::string& out,
                                              Painter* painter, const std::function<void(const std::string&)>& before) {
  std::vector<PageFilters> pages;
  for (const std::string& layer : p.filter_layers) {
    before(layer);
    FilterPatternRequest r;
    r.layer = layer;
    r.steps = p.filter_steps;
    r.eps = p.filter_eps;
    r.rescale = rescale;
    r.seed = p.seed;
    const FilterPatterns f = compute_filter_patterns(be, r);
    const std::vector<size_t> shape = {size_t(f.count), size_t(f.h), size_t(f.w), size_t(f.c)};
    if (f.images.size() != shape[0] * shape[1] * shape[2] * shape[3])
      fail("filters ", layer, ": the explain library returned ", f.images.size(), " values (internal error)");
    PageFilters pf;
    pf.layer = layer;
    pf.shape = batch_shape(size_t(f.count), {f.h, f.w, f.c});
    pf.npy = "filters_" + layer + ".npy";
    write_npy(out + "/" + pf.npy, f.images.data(), shape);
    if (painter) {
      pf.png = "filters_" + layer + ".png";
      const FilterGrid grid = filter_grid(f);  // RGB (rows, cols, 3)
      painter->input(out + "/" + pf.png, grid.pixels.data(), grid.rows, grid.cols);
    }
    std::printf("filters_%s: %s (%d steps from seed %llu)\n", layer.c_str(), pf.shape.c_str(), p.filter_steps,
                (unsigned long long)p.seed);
    std::fflush(stdout);
    pages.push_back(pf);
  }
  return pages;
}

}  // namespace acts
