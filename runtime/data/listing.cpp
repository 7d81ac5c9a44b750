// Keras' listing rules for a split folder (see listing.h). std::string's ordering compares
// bytes as unsigned char, which is Python's code-point order for UTF-8 names.
#include "listing.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <system_error>

#include "runtime/core/errors.h"

namespace fs = std::filesystem;

namespace acts {

namespace {

const char* kFix =
    "give a folder holding one sub-folder of images per class, e.g. DIR/cats and DIR/dogs "
    "(scripts/data/make_split.py builds them from Kaggle's train.zip)";

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Every (folder, file name) under `cls`, as os.walk(cls, followlinks=False) yields them.
std::map<std::string, std::vector<std::string>> walk(const fs::path& cls) {
  std::map<std::string, std::vector<std::string>> by_root;  // sorted by root path, as Keras sorts
  by_root[cls.string()];
  std::error_code ec;
  fs::recursive_directory_iterator it(cls, fs::directory_options::none, ec), end;
  if (ec) fail(cls.string(), ": cannot read the folder (", ec.message(), "); check its permissions");
  for (; it != end; it.increment(ec)) {
    if (ec) fail(cls.string(), ": cannot read the folder (", ec.message(), "); check its permissions");
    std::error_code e2;
    if (it->is_directory(e2)) {  // os.walk puts (symlinked) folders among the dirs, never the files
      if (it->is_symlink(e2))
        it.disable_recursion_pending();
      else
        by_root[it->path().string()];
      continue;
    }
    by_root[it->path().parent_path().string()].push_back(it->path().filename().string());
  }
  if (ec) fail(cls.string(), ": cannot read the folder (", ec.message(), "); check its permissions");
  return by_root;
}

}  // namespace

bool has_image_extension(const std::string& name) {
  static const std::array<std::string, 7> exts = {"png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff"};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  for (const auto& e : exts)
    if (lower.size() >= e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return true;
  return false;
}

Listing list_class_folders(const std::string& dir, int want_classes) {
  std::error_code ec;
  const fs::path root(dir);
  const auto st = fs::status(root, ec);
  if (!fs::exists(st)) fail(dir, ": no such folder; ", kFix);
  if (!fs::is_directory(st)) fail(dir, ": not a folder; ", kFix);

  Listing out;
  fs::directory_iterator it(root, ec), end;
  if (ec) fail(dir, ": cannot read the folder (", ec.message(), "); check its permissions");
  for (; it != end; it.increment(ec)) {
    if (ec) fail(dir, ": cannot read the folder (", ec.message(), "); check its permissions");
    std::error_code e2;
    if (it->is_directory(e2)) out.classes.push_back(it->path().filename().string());
  }
  std::sort(out.classes.begin(), out.classes.end());
  if (out.classes.empty()) fail(dir, ": has no class sub-folders; ", kFix);
  if (want_classes > 0 && int(out.classes.size()) != want_classes)
    fail(dir, ": found ", out.classes.size(), " class folder", out.classes.size() == 1 ? "" : "s", " (",
         join(out.classes), ") but the model needs exactly ", want_classes, "; ", kFix);

  for (size_t c = 0; c < out.classes.size(); ++c) {
    const fs::path cls = root / out.classes[c];
    size_t found = 0;
    for (auto& [folder, names] : walk(cls)) {
      std::sort(names.begin(), names.end());
      for (const auto& name : names) {
        if (!has_image_extension(name)) continue;
        out.files.push_back((fs::path(folder) / name).lexically_relative(root).generic_string());
        out.labels.push_back(int(c));
        ++found;
      }
    }
    if (found == 0)
      fail(cls.string(),
           ": class folder has no images (png, jpg, jpeg, bmp, ppm, tif, tiff); add its "
           "pictures or remove the folder");
  }
  return out;
}

}  // namespace acts
