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
#pragma once
#include <string>
#include <vector>

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
  std::string out = "acts";
  std::string device = "auto";
  int batch_size = 32;         // images per forward pass
  bool list_layers = false;    // print names and shapes, dump nothing
  Painter* painter = nullptr;  // null: NPY files only (builds without OpenCV)
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
