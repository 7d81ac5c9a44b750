// Datasets as the trainer and dump_acts see them: decoded uint8 images, already resized to the
// model's input, in host memory, with Keras' flow_from_directory semantics. Implementation:
// the data-pipeline issue (#4). The image decoding parts need OpenCV; the NPY parts do not.
//
// Listing (Keras' DirectoryIterator): classes are the sub-folders sorted by name (label = index);
// images are the files, in sub-folders too, whose lower-cased name ends in png, jpg, jpeg, bmp,
// ppm, tif or tiff, sorted by folder then name; other files are ignored.
// Pixels (keras_preprocessing's load_img + PIL): decoded to 8-bit RGB (grayscale, palette, alpha
// dropped, 16-bit RGB keeps the top byte; EXIF orientation ignored), resized with Pillow's own
// NEAREST arithmetic (pixel-exact). Known differences from PIL: 16-bit grayscale keeps the top
// byte where PIL clips to 255; CMYK JPEGs come out 0 to 2 higher than PIL's (OpenCV's CMYK->RGB
// rounding; docs/decoding.md has the measured numbers).
//
// Bad input policy. A file with an image extension that is empty, truncated, corrupt, not an
// image, larger than kMaxImageSide pixels on a side (rejected from its header, before decoding)
// or not a regular file (a FIFO, a device: never opened so that it could block) is reported
// through LoadOptions::warn (path and reason) and skipped (Dataset::skipped counts it).
// Everything that would make training meaningless throws acts::Error before any training, with
// one line naming the path and the fix: a missing, unreadable or non-folder path, no class
// sub-folders, a number of classes other than LoadOptions::classes, and a class with no usable image.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/core/errors.h"

namespace acts {

struct LoadOptions {
  int height = 150, width = 150;          // Keras target_size
  std::string interpolation = "nearest";  // nearest (Keras' default, PIL-exact) | bilinear | area
  int threads = 0;                        // decoder threads; 0 = all cores
  int classes = 2;                        // class folders wanted; 0: any number (the caller checks them)
  // Called once per skipped file (corrupt, truncated, not an image) with a one-line reason.
  std::function<void(const std::string&)> warn;
  // Polled before each image is decoded; true stops load_directory, which throws LoadStopped
  // (Ctrl-C: decoding a few thousand photos takes seconds). Null: never stops.
  std::function<bool()> stop;
};

// Thrown by load_directory when LoadOptions::stop said so; the message names the folder.
struct LoadStopped : Error {
  LoadStopped(const std::string& folder, size_t done, size_t of)
      : Error(folder + ": loading stopped"), dir(folder), decoded(done), total(of) {}
  std::string dir;
  size_t decoded = 0, total = 0;  // photos decoded when it stopped, of the folder's
};

struct Dataset {
  std::string root;                  // the folder (or x.npy) it came from
  std::vector<std::string> classes;  // sorted sub-folder names; label = index
  std::vector<std::string> files;    // per image, relative to root as Keras' filenames
                                     // ("cats/cat.0.jpg"); empty for NPY datasets
  std::vector<float> labels;         // per image, its class index (0 or 1 for two classes)
  int height = 0, width = 0;
  std::vector<uint8_t> pixels;       // (size(), height, width, 3)
  size_t skipped = 0;                // unreadable files left out (each reported through warn)
  size_t size() const { return labels.size(); }
  const uint8_t* image(size_t i) const { return pixels.data() + i * size_t(height) * width * 3; }
};

// Largest width or height accepted (a guard against decompression bombs and mistakes).
constexpr int kMaxImageSide = 20000;

// "Found 2000 images belonging to 2 classes." as Keras prints it.
std::string found_message(const Dataset& d);

// A split folder with one sub-folder per class (Keras' DirectoryIterator): decodes every image
// once. Throws acts::Error for a missing/empty folder, a single class, etc. Needs OpenCV.
Dataset load_directory(const std::string& dir, const LoadOptions& o);
// x.npy (N, H, W, 3) uint8 and y.npy (N) or (N, 1) class indices of any numeric dtype (0/1 for
// two classes, 0..N-1 for N); classes named "0" ... up to the largest label (at least "0", "1");
// load_split takes their names and count from DIR/classes.txt when there is one.
Dataset load_npy(const std::string& x_path, const std::string& y_path);
// A split given either way: DIR holding x.npy and y.npy (made by scripts/data/photos_to_npy.py; their
// size must be o.height x o.width), else DIR as a class-folder tree (needs OpenCV).
Dataset load_split(const std::string& dir, const LoadOptions& o);
// One image, preprocessed exactly as in training (decode, RGB, resize). Needs OpenCV.
std::vector<uint8_t> load_image(const std::string& path, const LoadOptions& o);
// True when this build can decode image files (built with OpenCV).
bool have_image_io();

// ImageDataGenerator's augmentation options (degrees / fractions as in keras_preprocessing:
// shifts below 1 are fractions of the image, from 1 on pixels; shear is in degrees, as
// keras_preprocessing >= 1.0.6 reads it; Keras 2.0.x read shear_range in radians).
struct AugmentOptions {
  float rotation_range = 0, width_shift_range = 0, height_shift_range = 0, shear_range = 0, zoom_range = 0;
  bool horizontal_flip = false;
  static AugmentOptions chollet();  // rotation 40, shifts 0.2, shear 0.2, zoom 0.2, flip
  bool any() const;
};

// One batch in host memory; pointers stay valid until the iterator's next next() or seek().
struct HostBatch {
  int n = 0;
  const uint8_t* images = nullptr;  // (n, H, W, 3)
  const float* labels = nullptr;    // (n)
  const float* affine = nullptr;    // (n, 6) or null when no augmentation (see Batch::affine)
  const uint32_t* rows = nullptr;   // (n) the images' indices in the dataset (see Batch::rows)
};

// Keras' Iterator: a new shuffle every data epoch (from the seed and the number of batches
// seen), batches that run across epoch ends as Keras' do. Its whole state is batches_seen(), so
// a resumed run seeks and continues bit-identically.
// A data epoch is batches_per_epoch() = ceil(n / batch) batches, the last one short when batch
// does not divide n (keras_preprocessing's Iterator._flow_index); the order of data epoch e is
// numpy's np.random.seed(seed + e * batches_per_epoch()); np.random.permutation(n), exactly as
// Keras draws it. Augmentation parameters are drawn from (seed, global image index) so they do
// not depend on how the run was cut into sessions. A thread prepares the next batch (gather,
// labels, affine parameters) while the caller trains on the current one. `d` must outlive it.
class BatchIterator {
 public:
  BatchIterator(const Dataset& d, int batch_size, bool shuffle, uint64_t seed,
                const AugmentOptions& aug = AugmentOptions{});
  ~BatchIterator();
  HostBatch next();
  uint64_t batches_seen() const;
  void seek(uint64_t batches_seen);
  uint64_t batches_per_epoch() const;  // Keras' len(iterator)

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace acts
