// Datasets as the trainer and dump_acts see them: decoded uint8 images, already resized to the
// model's input, in host memory, with Keras' flow_from_directory semantics. Implementation:
// the data-pipeline issue (#4). The image decoding parts need OpenCV; the NPY parts do not.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace acts {

struct LoadOptions {
  int height = 150, width = 150;          // Keras target_size
  std::string interpolation = "nearest";  // nearest (Keras' default, PIL-exact) | bilinear | area
  int threads = 0;                        // decoder threads; 0 = all cores
  // Called once per skipped file (corrupt, truncated, not an image) with a one-line reason.
  std::function<void(const std::string&)> warn;
};

struct Dataset {
  std::string root;                  // the folder (or x.npy) it came from
  std::vector<std::string> classes;  // sorted sub-folder names; label = index
  std::vector<std::string> files;    // per image (empty for NPY datasets)
  std::vector<float> labels;         // per image, 0 or 1
  int height = 0, width = 0;
  std::vector<uint8_t> pixels;       // (size(), height, width, 3)
  size_t skipped = 0;                // unreadable files left out (each reported through warn)
  size_t size() const { return labels.size(); }
  const uint8_t* image(size_t i) const { return pixels.data() + i * size_t(height) * width * 3; }
};

// "Found 2000 images belonging to 2 classes." as Keras prints it.
std::string found_message(const Dataset& d);

// A split folder with one sub-folder per class (Keras' DirectoryIterator): decodes every image
// once. Throws acts::Error for a missing/empty folder, a single class, etc. Needs OpenCV.
Dataset load_directory(const std::string& dir, const LoadOptions& o);
// x.npy (N, H, W, 3) uint8 and y.npy (N) labels; classes named "0", "1" unless given.
Dataset load_npy(const std::string& x_path, const std::string& y_path);
// A split given either way: DIR (a class-folder tree) or DIR holding x.npy and y.npy.
Dataset load_split(const std::string& dir, const LoadOptions& o);
// One image, preprocessed exactly as in training (decode, RGB, resize). Needs OpenCV.
std::vector<uint8_t> load_image(const std::string& path, const LoadOptions& o);
// True when this build can decode image files (built with OpenCV).
bool have_image_io();

// ImageDataGenerator's augmentation options (degrees / fractions as in Keras).
struct AugmentOptions {
  float rotation_range = 0, width_shift_range = 0, height_shift_range = 0, shear_range = 0, zoom_range = 0;
  bool horizontal_flip = false;
  static AugmentOptions chollet();  // rotation 40, shifts 0.2, shear 0.2, zoom 0.2, flip
  bool any() const;
};

// One batch in host memory; pointers stay valid until the iterator's next call.
struct HostBatch {
  int n = 0;
  const uint8_t* images = nullptr;  // (n, H, W, 3)
  const float* labels = nullptr;    // (n)
  const float* affine = nullptr;    // (n, 6) or null when no augmentation (see Batch::affine)
};

// Keras' Iterator: a new shuffle every data epoch (from the seed and the number of batches
// seen), batches that run across epoch ends as Keras' do. Its whole state is batches_seen(), so
// a resumed run seeks and continues bit-identically.
class BatchIterator {
 public:
  BatchIterator(const Dataset& d, int batch_size, bool shuffle, uint64_t seed,
                const AugmentOptions& aug = AugmentOptions{});
  ~BatchIterator();
  HostBatch next();
  uint64_t batches_seen() const;
  void seek(uint64_t batches_seen);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace acts
