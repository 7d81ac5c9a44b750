// Datasets given as x.npy / y.npy (the OpenCV-free path), load_split's choice between the two
// forms, and Keras' "Found N images" line.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dataset.h"
#include "runtime/core/errors.h"
#include "runtime/core/npy.h"

namespace fs = std::filesystem;

namespace acts {

std::string found_message(const Dataset& d) {
  return "Found " + std::to_string(d.size()) + " images belonging to " + std::to_string(d.classes.size()) + " classes.";
}

Dataset load_npy(const std::string& x_path, const std::string& y_path) {
  const NpyArray x = read_npy(x_path);
  const NpyArray y = read_npy(y_path);
  if (x.dtype != "|u1" && x.dtype != "<u1")
    fail(x_path, ": images must be uint8 (N, H, W, 3), got dtype ", x.dtype,
         "; save x.astype(np.uint8) (scripts/data/photos_to_npy.py does)");
  if (x.shape.size() != 4 || x.shape[3] != 3)
    fail(x_path, ": images must have shape (N, H, W, 3) (RGB, channels last), got ", x.shape.size(), " dims",
         x.shape.size() == 4 ? " with " + std::to_string(x.shape[3]) + " channels" : std::string());
  const size_t n = x.shape[0];
  if (n == 0) fail(x_path, ": holds no images");
  if (x.shape[1] == 0 || x.shape[2] == 0 || x.shape[1] > size_t(kMaxImageSide) || x.shape[2] > size_t(kMaxImageSide))
    fail(x_path, ": image size ", x.shape[1], "x", x.shape[2], " is outside 1..", kMaxImageSide);
  const bool column = y.shape.size() == 2 && y.shape[1] == 1;
  if (!(y.shape.size() == 1 || column) || y.shape[0] != n)
    fail(y_path, ": labels must have shape (", n, ") to match ", x_path, ", got ", y.shape.size(), " dims of ",
         y.shape.empty() ? 0 : y.shape[0]);
  Dataset d;
  d.root = x_path;
  d.height = int(x.shape[1]);
  d.width = int(x.shape[2]);
  d.labels = y.to_float();
  // Class indices, as flow_from_directory gives them: 0/1 for two classes, 0..N-1 for N.
  float top = 1.f;
  for (size_t i = 0; i < n; ++i) {
    const float l = d.labels[i];
    if (!(l >= 0.f && l < 65536.f) || l != float(int(l)))
      fail(y_path, ": label ", i, " is ", l, "; labels must be class indices 0, 1, ... (0/1 for two classes)");
    top = std::max(top, l);
  }
  for (int k = 0; k <= int(top); ++k) d.classes.push_back(std::to_string(k));
  d.pixels.assign(x.u8(), x.u8() + x.count());
  return d;
}

Dataset load_split(const std::string& dir, const LoadOptions& o) {
  const fs::path root(dir), x = root / "x.npy", y = root / "y.npy";
  std::error_code ec;
  if (!fs::exists(root, ec)) fail(dir, ": no such folder; give a split folder (class sub-folders, or x.npy + y.npy)");
  if (!fs::exists(x, ec) && !fs::exists(y, ec)) return load_directory(dir, o);
  if (!fs::exists(x, ec) || !fs::exists(y, ec))
    fail(dir, ": has ", fs::exists(x, ec) ? "x.npy but no y.npy" : "y.npy but no x.npy",
         "; give both (scripts/data/photos_to_npy.py writes them)");
  Dataset d = load_npy(x.string(), y.string());
  if (d.height != o.height || d.width != o.width)
    fail(x.string(), ": images are ", d.height, "x", d.width, " but the model takes ", o.height, "x", o.width,
         "; rebuild them with scripts/data/photos_to_npy.py --size ", o.height, " ", o.width);
  std::ifstream names(root / "classes.txt");  // optional: one class name per line, label order
  std::vector<std::string> classes;
  for (std::string line; std::getline(names, line);)
    if (!line.empty()) classes.push_back(line);
  if (!classes.empty()) {  // names the classes; its count holds even where a split lacks the last ones
    if (classes.size() < 2)
      fail((root / "classes.txt").string(), ": lists ", classes.size(), " class; give one name per line, 2 or more");
    if (d.classes.size() > classes.size())
      fail(y.string(), ": has label ", d.classes.size() - 1, " but ", (root / "classes.txt").string(), " names ",
           classes.size(), " classes; give every class a line, in label order");
    d.classes = classes;
  }
  d.root = dir;
  return d;
}

}  // namespace acts
