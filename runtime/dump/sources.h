// Where dump_acts' inputs come from: the checkpoint (--model: a .safetensors file, a run folder
// of train_gpu, or runs/latest) and the images (--image files, folders or .npy arrays; by
// default the first test image, else validation image, of the data folder the checkpoint was
// trained on), decoded and resized exactly as in training.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/data/dataset.h"

namespace acts {

// A run folder's model: final.safetensors, else last.safetensors; a file is taken as is; ""
// means runs/latest. Throws naming the path and what to pass instead.
std::string resolve_checkpoint(const std::string& model);

// Image files under `dir` (has_image_extension, runtime/data/listing.h) in Keras' order: sorted
// by folder, then name. `top_level` also takes the files directly in `dir` (Keras only looks into
// class sub-folders, list_class_folders).
std::vector<std::string> list_images(const std::string& dir, bool top_level);

// One requested input: an image file, or row `row` of an (N, H, W, 3) uint8 .npy (row -1: all).
struct ImageRef {
  std::string path;
  long row = -1;
  std::string folder;  // the --image folder it was found in; "" when named itself
};

// --image arguments: files as given, folders expanded with list_images(dir, true).
std::vector<ImageRef> expand_image_args(const std::vector<std::string>& args);
// The default input: the first image of <data>/test, else <data>/validation, where <data> is
// the checkpoint's "data" metadata (a class-folder tree or x.npy). `ckpt` names it in errors.
ImageRef default_image(const std::map<std::string, std::string>& meta, const std::string& ckpt);

struct Inputs {
  std::vector<std::string> sources;  // per image: its file, or "x.npy[3]"
  std::vector<std::string> stems;    // per image, unique: "cat.1500", "cat.1500-2", "x_3"
  std::vector<std::string> files;    // per image: its image file, "" for a row of an .npy
  int height = 0, width = 0;
  std::vector<uint8_t> pixels;  // (N, height, width, 3) RGB, as the data pipeline gives them
  size_t size() const { return sources.size(); }
  const uint8_t* image(size_t i) const { return pixels.data() + i * size_t(height) * width * 3; }
};

// Decodes and resizes every image (load_image with `o`); .npy arrays must already be o.height x
// o.width. An image file that cannot be used (named itself or found in a folder) is skipped with
// a warning (o.warn), as train_gpu skips it; only when none is left does it throw: the one image's
// own reason, the folder's name, or the count.
Inputs load_inputs(const std::vector<ImageRef>& refs, const LoadOptions& o);
// Per-image folders are named by stem; two inputs with one stem get "-2", "-3", ... (and none is
// named after a file of the output folder: index.html, images.txt, misclassified.html).
void make_stems_unique(std::vector<std::string>& stems);

}  // namespace acts
