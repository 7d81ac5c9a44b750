// Shared set-up of the dump_acts tests: a temporary folder, a checkpoint of the tutorial model at
// 48x48 (glorot weights, non-zero biases) and a uint8 (N, 48, 48, 3) .npy of random images, so
// the tests run in about a second on the CPU and need neither OpenCV nor the photos.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/core/checkpoint.h"
#include "runtime/core/graph.h"
#include "runtime/core/npy.h"

namespace acts::test {

namespace fs = std::filesystem;

struct DumpFixture {
  fs::path dir;
  std::string ckpt, images;  // model.safetensors, x.npy
  Checkpoint c;
  std::vector<uint8_t> pixels;  // (n, 48, 48, 3)
  int n;

  explicit DumpFixture(const std::string& name, int n_images = 3) : n(n_images) {
    dir = fs::temp_directory_path() / ("acts_dump_test_" + std::to_string(getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    c.model = tutorial_model(48);
    const Graph g(c.model);
    c.params = init_params(g, 7);
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> bias(-0.05f, 0.05f);
    for (const ParamRef& p : g.params())
      if (p.shape.size() == 1)
        for (size_t i = 0; i < p.size; ++i) c.params[p.offset + i] = bias(rng);  // biases matter in the checks
    c.meta = {{"classes", "[\"cats\", \"dogs\"]"}, {"image_size", "48"}, {"interpolation", "nearest"}};
    ckpt = (dir / "model.safetensors").string();
    save_checkpoint(ckpt, c);
    pixels.resize(size_t(n) * 48 * 48 * 3);
    for (uint8_t& p : pixels) p = uint8_t(rng() & 0xff);
    images = (dir / "x.npy").string();
    write_npy(images, pixels.data(), {size_t(n), 48, 48, 3});
  }
  ~DumpFixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::remove(dir.parent_path(), ec);  // the process's folder, once its last test's is gone (not if others remain)
  }
  std::string out() const { return (dir / "acts").string(); }
};

// data/sample, the bundled photos the app tests run dump_acts on (ACTS_TEST_DATA is tests/fixtures).
inline std::string sample_photos() { return fs::canonical(std::string(ACTS_TEST_DATA) + "/../../data/sample").string(); }

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Every src= / href= of an HTML page that is not an anchor, percent-decoded, relative to it.
inline std::vector<std::string> page_links(const fs::path& html) {
  const std::string text = slurp(html);
  std::vector<std::string> links;
  const std::regex attr("(?:src|href)=\"([^\"#][^\"]*)\"");
  for (std::sregex_iterator it(text.begin(), text.end(), attr), end; it != end; ++it) {
    const std::string raw = (*it)[1];
    std::string path;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size()) {
        path += char(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        path += raw[i];
      }
    }
    links.push_back(path);
  }
  return links;
}

// Files (recursively) under dir, relative; empty when dir does not exist.
inline std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(e.path(), dir).string());
  return out;
}

}  // namespace acts::test
