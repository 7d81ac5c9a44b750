#include "sources.h"

#include <algorithm>
#include <map>
#include <cctype>
#include <filesystem>
#include <set>
#include <utility>

#include "runtime/data/listing.h"
#include "runtime/core/errors.h"
#include "runtime/core/npy.h"
#include "runtime/core/regular_file.h"

namespace acts {
namespace fs = std::filesystem;

namespace {

bool is_dir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool is_npy(const std::string& path) {
  return path.size() > 4 &&
         (path.compare(path.size() - 4, 4, ".npy") == 0 || path.compare(path.size() - 4, 4, ".NPY") == 0);
}

}  // namespace

std::string resolve_checkpoint(const std::string& model) {
  const std::string m = model.empty() ? "runs/latest" : model;
  if (is_dir(m)) {
    for (const char* f : {"final.safetensors", "last.safetensors"})
      if (is_file(m + "/" + f)) return m + "/" + f;
    fail(m,
         ": has no final.safetensors or last.safetensors (a run folder of train_gpu gets last.safetensors after "
         "its first epoch); pass --model a .safetensors or Keras .h5/.keras file");
  }
  if (is_file(m)) return m;
  if (const std::string kind = special_file_kind(m); !kind.empty())  // it exists: "no such" would mislead
    fail(m, ": is ", kind,
         ", not a regular file; pass --model a .safetensors or Keras .h5/.keras file, or a run folder of train_gpu");
  if (model.empty())
    fail("runs/latest: no trained model here; train one first (train_gpu --data DIR) or pass --model CKPT_OR_RUN_DIR");
  fail(m,
       ": no such checkpoint or run folder; pass --model a .safetensors or Keras .h5/.keras file, or a run folder "
       "of train_gpu");
}

std::vector<std::string> list_images(const std::string& dir, bool top_level) {
  // (folder, name) pairs: sorting them is Keras' sorted(os.walk(...)) then sorted(files).
  std::vector<std::pair<std::string, std::string>> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;  // symlinked sub-folders not followed, as the pipeline
  if (ec) fail(dir, ": cannot list the folder (", ec.message(), ")");
  for (; it != end; it.increment(ec)) {
    if (ec) fail(dir, ": cannot list the folder (", ec.message(), ")");
    // Anything but a folder that is named like an image is listed, as Keras' os.walk lists it: a
    // FIFO or a dangling link is then skipped with a warning naming it, never silently.
    if (it->is_directory(ec) || !has_image_extension(it->path().filename().string())) continue;
    if (!top_level && it.depth() == 0) continue;
    found.emplace_back(it->path().parent_path().string(), it->path().filename().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (const auto& [folder, name] : found) out.push_back(folder + "/" + name);
  return out;
}

std::vector<ImageRef> expand_image_args(const std::vector<std::string>& args) {
  std::vector<ImageRef> refs;
  for (const std::string& a : args) {
    if (is_dir(a)) {
      const std::vector<std::string> files = list_images(a, true);
      if (files.empty()) fail(a, ": no images (png, jpg, jpeg, bmp, ppm, tif, tiff) in this folder or below");
      for (const std::string& f : files) refs.push_back({f, -1, a});
    } else if (is_file(a) || !special_file_kind(a).empty()) {  // a FIFO is refused by name when read
      refs.push_back({a, -1, ""});
    } else {
      fail(a, ": no such image file or folder (--image)");
    }
  }
  return refs;
}

ImageRef default_image(const std::map<std::string, std::string>& meta, const std::string& ckpt) {
  const auto d = meta.find("data");
  if (d == meta.end() || d->second.empty())
    fail(ckpt, ": the checkpoint does not record its data folder; pass --image FILE_OR_FOLDER");
  for (const char* split : {"test", "validation"}) {
    const std::string dir = d->second + "/" + split;
    if (!is_dir(dir)) continue;
    if (is_file(dir + "/x.npy")) return {dir + "/x.npy", 0, ""};
    const Listing l = list_class_folders(dir, 0);  // Keras' order; throws for an empty folder
    return {dir + "/" + l.files.front(), -1, ""};
  }
  fail(d->second, ": the data folder of ", ckpt, " has no test/ or validation/ images (moved?); pass --image FILE");
}

namespace {

// The NPY's images as (count, H, W, 3) uint8 rows [first, first + count).
void append_npy(const ImageRef& r, const LoadOptions& o, Inputs& in) {
  const NpyArray a = read_npy(r.path);
  const bool one = a.shape.size() == 3;
  if (a.dtype != "|u1" || (a.shape.size() != 4 && !one) || a.shape.back() != 3) {
    std::string shape;
    for (size_t d : a.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    fail(r.path, ": images in an .npy must be uint8 (N, H, W, 3) or (H, W, 3), not ", a.dtype, " (", shape, ")");
  }
  const size_t h = a.shape[one ? 0 : 1], w = a.shape[one ? 1 : 2], n = one ? 1 : a.shape[0];
  if (h != size_t(o.height) || w != size_t(o.width))
    fail(r.path, ": images are ", h, "x", w, " but the model takes ", o.height, "x", o.width,
         "; resize them (scripts/data/photos_to_npy.py) or pass the image files");
  if (n == 0) fail(r.path, ": holds no images (N = 0); pass an .npy with at least one");
  if (r.row >= long(n)) fail(r.path, ": has ", n, " images, no row ", r.row);
  const size_t first = r.row < 0 ? 0 : size_t(r.row), count = r.row < 0 ? n : 1, px = h * w * 3;
  const std::string stem = fs::path(r.path).stem().string();
  for (size_t i = first; i < first + count; ++i) {
    in.sources.push_back(r.path + "[" + std::to_string(i) + "]");
    in.stems.push_back(stem + "_" + std::to_string(i));
    in.files.push_back("");
  }
  in.pixels.insert(in.pixels.end(), a.u8() + first * px, a.u8() + (first + count) * px);
}

// Decodes image file r into `in`. False when it cannot be used and is skipped with a warning;
// throws instead when it is the only image named (`alone`): its own reason is then the error.
bool append_image_file(const ImageRef& r, const LoadOptions& o, bool alone, Inputs& in) {
  if (!have_image_io())
    fail(r.path,
         ": this build cannot decode image files (built without OpenCV); pass the images as a uint8 "
         "(N, H, W, 3) .npy (scripts/data/photos_to_npy.py)");
  const size_t px = size_t(o.height) * o.width * 3;
  std::vector<uint8_t> img;
  try {
    img = load_image(r.path, o);
  } catch (const Error& e) {
    if (alone) throw;
    std::string why = e.what();  // "<path>: <reason>", worded as train_gpu's skips
    if (why.rfind(r.path + ": ", 0) == 0) why.insert(r.path.size() + 2, "skipped: ");
    if (o.warn) o.warn(why);
    return false;
  }
  if (img.size() != px) fail(r.path, ": decoded to ", img.size(), " bytes, expected ", px, " (internal error)");
  in.pixels.insert(in.pixels.end(), img.begin(), img.end());
  in.sources.push_back(r.path);
  in.stems.push_back(fs::path(r.path).stem().string());
  in.files.push_back(r.path);
  return true;
}

// Every image was skipped: the error names the folder they all came from, else --image.
[[noreturn]] void fail_none_usable(const std::vector<ImageRef>& refs, size_t skipped) {
  const std::string& folder = refs.front().folder;
  const bool one_folder = !folder.empty() && std::all_of(refs.begin(), refs.end(), [&](const ImageRef& r) {
    return r.folder == folder;
  });
  if (one_folder) fail(folder, ": none of its ", skipped, " images could be used (see the warnings above)");
  fail("--image: none of the ", skipped, " images could be used (see the warnings above)");
}

}  // namespace

void make_stems_unique(std::vector<std::string>& stems) {
  std::set<std::string> used = {"index.html", "images.txt", "misclassified.html"};  // top-level files of the output folder
  for (std::string& s : stems) {
    if (s.empty() || s == "." || s == "..") s = "image";
    std::string u = s;
    for (int k = 2; used.count(u); ++k) u = s + "-" + std::to_string(k);
    used.insert(u);
    s = u;
  }
}

Inputs load_inputs(const std::vector<ImageRef>& refs, const LoadOptions& o) {
  Inputs in;
  in.height = o.height;
  in.width = o.width;
  // One policy for every image file, named or found in a folder (as train_gpu's): one that
  // cannot be used is skipped with a warning naming it; only nothing usable at all is an error.
  size_t skipped = 0;
  for (const ImageRef& r : refs) {
    if (is_npy(r.path))
      append_npy(r, o, in);
    else if (!append_image_file(r, o, refs.size() == 1, in))
      ++skipped;
  }
  if (in.sources.empty() && skipped > 0) fail_none_usable(refs, skipped);
  make_stems_unique(in.stems);
  return in;
}

}  // namespace acts
