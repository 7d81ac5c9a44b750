// dump_acts' heatmaps, saliency and filter patterns (issue 20): the flags resolved into a plan
// before anything is written, then, batch by batch, the maps of runtime/explain written as NPY
// files and, through a HeatmapPainter, as the book's overlays on each photo.
//
// Output in OUT (a photo's files go to OUT for one image, else OUT/<stem>/, as its pictures):
//   cam_<method>.npy              float32 (N, classes, h, w): the maps at the layer's resolution,
//                                 in [0, 1], classes in --class order
//   saliency.npy, smoothgrad.npy  float32 (N, classes, H, W) at the model input's resolution
//   <photo>/cam_<method>_<class>.npy   float32 (H, W): the map resized (bilinear) to the photo's
//                                 own size; .png: the book's overlay (jet x 0.4 + photo)
//   <photo>/saliency_<class>.{npy,png}, <photo>/smoothgrad_<class>.{npy,png}: the same
//   filters_<layer>.npy           float32 (F, H, W, 3) in [0, 1]; filters_<layer>.png: the grid
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dump.h"
#include "html.h"
#include "npy_stream.h"
#include "runtime/core/backend.h"
#include "runtime/explain/cam.h"
#include "sources.h"

namespace acts {

// The explain flags of a DumpConfig, checked against the model (throws BadRequest naming the
// flag before anything is written).
struct ExplainPlan {
  std::vector<CamMethod> methods;        // --cam, in the order given, duplicates dropped
  std::string layer;                     // --cam-layer, else default_cam_layer()
  std::vector<int> classes;              // --class as indices, in the order given
  std::vector<std::string> class_names;  // per class index: the name pages show
  std::vector<std::string> class_tags;   // per class index: the name in file names ("class 0" -> "class_0")
  bool saliency = false;
  int smoothgrad = 0;
  float noise = 0.2f;
  uint64_t seed = 1;
  std::vector<std::string> filter_layers;  // --filters, in the order given
  int filter_steps = 40;
  double filter_eps = 0;
  bool maps() const { return !methods.empty() || saliency || smoothgrad > 0; }
  bool any() const { return maps() || !filter_layers.empty(); }
};

// `names`: the class names of --classes / the run (class_names[k] for class k).
ExplainPlan plan_explain(const DumpConfig& c, const Graph& g, const std::vector<std::string>& names);

// The maps of a dump: its batch NPY files, streamed; the per-photo files; what the pages show.
class HeatmapDump {
 public:
  // Opens OUT/cam_<method>.npy etc. for n images (removed again unless commit()).
  HeatmapDump(const ExplainPlan& p, const Graph& g, const std::string& out, size_t n);
  // After be.forward(b, false) of images [first, first + b.n): every map of the batch, appended to
  // the NPY files, and each photo's own files in dir_of(i) (with a painter).
  void add_batch(Backend& be, const Batch& b, size_t first, const Inputs& in,
                 const std::function<std::string(size_t)>& dir_of, HeatmapPainter* painter);
  void commit();
  // Image i's heatmap section; `up` leads from its page to OUT ("" or "../").
  std::vector<PageClass> page(size_t i, const std::string& up, bool pictures) const;
  std::vector<std::pair<std::string, std::string>> npys() const;  // (file, "(N, 2, 15, 15)")
  const std::string& layer() const { return plan_.layer; }

 private:
  struct Kind {  // one kind of map: a CAM method, saliency or SmoothGrad
    std::string file, label;
    bool cam = true;
    CamMethod method = CamMethod::kGradCam;
    int samples = 0;
    int h = 0, w = 0;
    std::unique_ptr<NpyStream> npy;
  };
  const ExplainPlan& plan_;
  const Graph& g_;
  std::vector<Kind> kinds_;
  std::vector<std::vector<float>> scores_;  // per image, per requested class
  std::vector<std::vector<float>> probs_;   // per image, per requested class: a softmax head's probability
  bool sigmoid_ = false;
};

// Filter patterns of every --filters layer: OUT/filters_<layer>.npy and, with a painter, the
// grid filter_grid() draws (the book's: 8 per row, 5-pixel black margins) as filters_<layer>.png.
// `before(layer)` runs before each layer (the dump's stop check: a layer takes seconds).
std::vector<PageFilters> dump_filter_patterns(const ExplainPlan& p, Backend& be, float rescale, const std::string& out,
                                              Painter* painter, const std::function<void(const std::string&)>& before);

}  // namespace acts
