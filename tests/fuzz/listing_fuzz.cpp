// Fuzz target: the data-folder listing (list_class_folders) over a real folder tree whose names
// come from the input, and the image-extension rule on each name. Input: one path per line
// (relative, '/' separates folders; a trailing '/' makes a folder, otherwise a file; "@name"
// makes a symlink "name" to the folder of the previous line). The first byte picks how many
// classes are wanted (1..3). acts::Error is the expected answer to a bad folder; anything else,
// or a listing that breaks Keras' rules, is a finding.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "runtime/core/errors.h"
#include "fuzz_check.h"
#include "listing.h"

namespace fs = std::filesystem;

namespace {

// One scratch folder per process, removed at exit. The path is never destroyed: the atexit
// handler, registered before the static below finishes its construction, runs after the
// static's destructor would have (a destroyed path removed nothing, and a folder per run stayed).
const fs::path& scratch() {
  static const fs::path* const dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "acts_listing_fuzz.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) std::abort();
    const fs::path* p = new fs::path(tmpl);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch(), ec);
    });
    return p;
  }();
  return *dir;
}

// "a//b/./c" -> "a/b/c"; empty when the line cannot name anything inside the root.
std::string clean(const std::string& line) {
  std::string out, part;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] != '/') {
      part += line[i];
      continue;
    }
    if (part == "..") return "";
    if (!part.empty() && part != "." && part.size() <= 255) out += (out.empty() ? "" : "/") + part;
    part.clear();
  }
  return out;
}

void build_tree(const fs::path& root, const uint8_t* data, size_t size) {
  std::error_code ec;
  fs::path last_dir = root;
  size_t start = 0, entries = 0;
  while (start < size && entries < 64) {
    size_t end = start;
    while (end < size && data[end] != '\n') ++end;
    std::string line(reinterpret_cast<const char*>(data + start), end - start);
    start = end + 1;
    if (line.find('\0') != std::string::npos) continue;
    ++entries;
    if (!line.empty() && line[0] == '@') {
      const std::string name = clean(line.substr(1));
      if (!name.empty()) fs::create_directory_symlink(last_dir, root / name, ec);
      continue;
    }
    const bool is_dir = !line.empty() && line.back() == '/';
    const std::string rel = clean(line);
    if (rel.empty()) continue;
    const fs::path p = root / rel;
    if (is_dir) {
      fs::create_directories(p, ec);
      last_dir = p;
    } else {
      fs::create_directories(p.parent_path(), ec);
      std::ofstream(p) << "x";
    }
    FUZZ_CHECK(acts::has_image_extension(rel) == acts::has_image_extension(p.filename().string()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int want = 1 + data[0] % 3;
  const fs::path root = scratch() / "split";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directory(root, ec);
  build_tree(root, data + 1, size - 1);
  try {
    const acts::Listing l = acts::list_class_folders(root.string(), want);
    FUZZ_CHECK(int(l.classes.size()) == want);
    FUZZ_CHECK(std::is_sorted(l.classes.begin(), l.classes.end()));
    FUZZ_CHECK(l.files.size() == l.labels.size());
    for (size_t i = 0; i < l.files.size(); ++i) {
      FUZZ_CHECK(l.labels[i] >= 0 && size_t(l.labels[i]) < l.classes.size());
      FUZZ_CHECK(acts::has_image_extension(l.files[i]));
      FUZZ_CHECK(l.files[i].rfind(l.classes[size_t(l.labels[i])] + "/", 0) == 0);
      FUZZ_CHECK(i == 0 || l.labels[i - 1] <= l.labels[i]);
    }
  } catch (const acts::Error&) {
  }
  fs::remove_all(root, ec);
  return 0;
}
