// load_directory (dataset.h): Keras' listing, then every image decoded once on a pool of
// threads straight into its slot of Dataset::pixels; skipped files are reported in file order
// and squeezed out afterwards, so the result does not depend on the thread count.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "dataset.h"
#include "runtime/core/errors.h"
#include "image_decode.h"
#include "listing.h"
#include "runtime/core/stop_request.h"

namespace acts {

namespace {

// Decodes every listed file of `dir` into its slot of `pixels` ((n, H, W, 3), sized by the
// caller) on o.threads threads. Returns per file why it was skipped (empty: decoded). Throws
// LoadStopped when o.stop() asks to, acts::Error when a decode runs out of memory.
std::vector<std::string> decode_all(const std::string& dir, const Listing& list, const LoadOptions& o,
                                    std::vector<uint8_t>& pixels) {
  const size_t n = list.files.size(), img = size_t(o.height) * o.width * 3;
  std::vector<std::string> why(n);    // non-empty: skipped, and why
  std::vector<std::string> fatal(n);  // non-empty: stop loading (out of memory)
  std::atomic<size_t> next{0}, decoded{0};
  std::atomic<bool> stop{false}, stopped{false};  // stopped: o.stop() asked to
  auto work = [&] {
    for (size_t i; !stop && (i = next++) < n;) {
      pause_point("decode");  // the signal tests' hook (stop_request.h)
      if (o.stop && o.stop()) {
        stopped = stop = true;
        break;
      }
      const std::string path = (std::filesystem::path(dir) / list.files[i]).string();
      try {
        why[i] = decode_file(path, o, pixels.data() + i * img);
        ++decoded;
      } catch (const std::exception& e) {  // bad_alloc: the images do not fit in memory
        fatal[i] = e.what();
        stop = true;
      }
    }
  };
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = std::min<size_t>(n, o.threads > 0 ? size_t(o.threads) : hw);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (stopped) throw LoadStopped(dir, decoded, n);
  for (const auto& f : fatal)
    if (!f.empty()) throw Error(f);
  return why;
}

// Reports the skipped files (in file order, whatever the thread count) and squeezes them out of
// d.pixels, keeping the others' names and labels. Throws when a class kept no image.
void keep_decoded(Dataset& d, const std::string& dir, const Listing& list, const std::vector<std::string>& why,
                  const LoadOptions& o) {
  const size_t n = list.files.size(), img = size_t(o.height) * o.width * 3;
  std::vector<size_t> per_class(d.classes.size());
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!why[i].empty()) {
      const std::string msg = (std::filesystem::path(dir) / list.files[i]).string() + ": skipped: " + why[i];
      if (o.warn)
        o.warn(msg);
      else
        std::cerr << "warning: " << msg << "\n";
      ++d.skipped;
      continue;
    }
    if (kept != i) std::memcpy(d.pixels.data() + kept * img, d.pixels.data() + i * img, img);
    d.files.push_back(list.files[i]);
    d.labels.push_back(float(list.labels[i]));
    ++per_class[list.labels[i]];
    ++kept;
  }
  d.pixels.resize(kept * img);
  d.pixels.shrink_to_fit();
  for (size_t c = 0; c < per_class.size(); ++c)
    if (per_class[c] == 0)
      fail((std::filesystem::path(dir) / d.classes[c]).string(),
           ": no image of this class could be read (all skipped, see the warnings above); fix or replace them");
}

}  // namespace

Dataset load_directory(const std::string& dir, const LoadOptions& o) {
  check_load_options(o);
  const Listing list = list_class_folders(dir, o.classes);
  Dataset d;
  d.root = dir;
  d.classes = list.classes;
  d.height = o.height;
  d.width = o.width;
  d.pixels.resize(list.files.size() * size_t(o.height) * o.width * 3);  // (n, H, W, 3); skipped slots squeezed out
  const std::vector<std::string> why = decode_all(dir, list, o, d.pixels);
  keep_decoded(d, dir, list, why, o);
  return d;
}

}  // namespace acts
