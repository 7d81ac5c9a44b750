// dump_acts' logic: runs images through a trained model on the backend and writes what the
// chosen layers output, as Keras' model.predict would return it (NAME.npy, float32
// (N, H, W, C)), plus pictures and index.html pages when a Painter is given.
//
// Output layout in `out`:
//   NAME.npy          every image's output of layer NAME, row i = image i (N, H, W, C) / (N, F)
//   images.txt        the images, one per line, in row order
//   one image:        input.png, NAME.png, NAME_chK.png, index.html next to the NPY files
//   several images:   <stem>/input.png, <stem>/NAME.png, <stem>/NAME_chK.png, <stem>/index.html
//                     per image, and index.html: an overview linking the per-image pages
//   --compare B:      NAME_b.npy/.png (the layer under model B) and NAME_diff.npy/.png (B - A) too,
//                     the three side by side on each index.html
//   --animate:        NAME_epochs.webp beside NAME.png: the grid under each kept epoch of the run
//   heatmaps, saliency, filter patterns, misclassified.html: heatmap_dump.h (--cam, --saliency,
//                     --filters, --misclassified)
//   --top N:          top_LAYER.npy/.json, top_LAYER.html, top_images/, index.html: top_images.h
#pragma once
#include <string>
#include <vector>

#include "heatmap_painter.h"
#include "painter.h"
#include "runtime/core/errors.h"
#include "runtime/core/graph.h"

namespace acts {

struct DumpConfig {
  std::string model;                 // .safetensors file, run folder or Keras file; "" = runs/latest
  std::string config_json;           // the architecture of a weights-only Keras file
  float rescale = 0.f;               // input scale; 0 = the run's (1/255 for Keras files)
  std::vector<std::string> classes;  // class names 0 and 1; empty = the run's ("class 0", "class 1")
  std::vector<std::string> images;  // files, folders, .npy; empty = first test image of the data
  std::vector<std::string> layers;  // empty = the tutorial's first 8 (model.layers[:8])
  bool all = false;                 // every layer
  std::vector<int> channels;        // NAME_chK.png for each K
  // --compare: a second checkpoint of the same model (another epoch, a fine-tune): each layer's
  // output under it (NAME_b.npy, NAME_b.png) and the difference B - A (NAME_diff.npy, .png)
  std::string compare;
  // --animate: each layer's grid under every epoch the run kept (train_gpu --keep-every N), one
  // animated picture per layer and image, NAME_epochs.webp (needs libwebp at build time)
  bool animate = false;
  std::string out = "acts";
  std::string device = "auto";
  int batch_size = 32;         // images per forward pass
  bool list_layers = false;    // print names and shapes, dump nothing
  Painter* painter = nullptr;  // null: NPY files only (builds without OpenCV)
  // Where the model looks and what its filters respond to (issue 20; heatmap_dump.h). Given
  // without --layer/--all, no activations are dumped, only these.
  std::vector<std::string> cams;         // --cam: gradcam, gradcam++, layercam, scorecam, gradcam-sum, all
  std::string cam_layer;                 // "" = default_cam_layer() (the last conv layer)
  std::vector<std::string> cam_classes;  // --class: names (--classes) or indices; empty = every class
  bool saliency = false;                 // vanilla saliency
  int smoothgrad = 0;                    // SmoothGrad's noisy samples; 0 = none
  float smoothgrad_noise = 0.2f;         // its noise, as a fraction of the input's range
  std::vector<std::string> filters;      // --filters: layers whose filter patterns are drawn
  int filter_steps = 40;                 // gradient-ascent steps (the book's 40)
  double filter_eps = 0;                 // added to the gradient's RMS; the book's 1e-5 (filter_patterns.h)
  unsigned long long seed = 1;           // the noise of SmoothGrad and of the filters' start images
  std::string misclassified;             // --misclassified: a split of the run's data, or a folder
  // --top N (top_images.h): every channel's N top images over a dataset, with receptive-field
  // crops; alone (no --image, heatmaps or --compare). Layers: --layer/--all, else the conv layers.
  int top = 0;
  std::string data;  // --data: a split of the run's data (train, validation, test) or a folder; "" = train
  // null: the batch NPY files only (builds without OpenCV)
  HeatmapPainter* heatmap_painter = nullptr;
  // SIGINT/SIGTERM/SIGHUP while the folders and files are written end the dump between batches by
  // throwing Interrupted, so the unfinished NPY files (and folders left empty) are removed instead
  // of left as *.tmp.PID (the apps; before that the signals keep their default: nothing is there
  // to clean up).
  bool handle_signals = false;
};

// A dump stopped by SIGINT/SIGTERM/SIGHUP (DumpConfig::handle_signals); what() says what was kept.
struct Interrupted : Error {
  using Error::Error;
};

constexpr int kTutorialLayers = 8;  // Chollet: layer_outputs = [layer.output for layer in model.layers[:8]]

// Runs the dump, printing the tutorial's shape lines. Throws acts::Error for bad input before
// anything is written; a dump that fails later removes the folders it made and left empty.
void dump_activations(const DumpConfig& c);

// --layer/--all resolved to layer indices in model order (duplicates dropped); unknown names
// throw with the list of valid ones.
std::vector<int> select_layers(const Graph& g, const std::vector<std::string>& names, bool all);
// "(1, 148, 148, 32)": a batch of n as numpy prints its shape.
std::string batch_shape(size_t n, const std::vector<int>& per_sample);
// --list-layers' text: name, type and Keras output shape per line, the default ones marked.
std::string layer_table(const Graph& g);

}  // namespace acts
