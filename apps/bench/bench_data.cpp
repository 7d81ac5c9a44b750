// bench_data: how fast this toolkit loads a class-folder split of photos, i.e. what
// load_directory (runtime/data) does once per training run: list the files, decode every image
// and resize it with Pillow-exact NEAREST into the in-memory cache (uint8, (N, H, W, 3)).
// scripts/bench/bench_data_keras.py times Keras' loader on the same folder and
// scripts/bench/bench_data_compare.py puts the two side by side (docs/benchmarks.md, "Data loading").
// One untimed load first warms the page cache, so both sides read the files from memory.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "apps/cli.h"
#include "bench_report.h"
#include "runtime/core/atomic_file.h"
#include "runtime/data/dataset.h"
#include "runtime/core/errors.h"
#include "runtime/backends/version.h"

using namespace acts;

namespace {

struct Row {
  int threads = 0;
  size_t images = 0, skipped = 0;
  std::vector<double> seconds;  // one per timed repeat
  double median_s() const { return bench::median(seconds); }
  double images_per_s() const { return median_s() > 0 ? images / median_s() : 0; }
};

// One full load; the Dataset (and its pixels) is freed before the next one starts.
double time_load(const std::string& dir, const LoadOptions& o, Row& row) {
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset d = load_directory(dir, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  row.images = d.size();
  row.skipped = d.skipped;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times load_directory (decode + Pillow-exact resize of every image) on a class-folder split"};
  std::string dir, json_path;
  std::vector<int> threads;
  int size = 150, repeats = 3;
  bool version = false;
  acts::cli::add_version(app, version);
  app.add_option("--data", dir, "Split folder with one sub-folder per class (e.g. data/sample/train)");
  app.add_option("--threads", threads, "Decoder thread counts to time (default: 1 and all cores)")
      ->check(CLI::PositiveNumber);
  app.add_option("--image-size", size, "Target height and width (Keras' target_size)")
      ->check(CLI::Range(1, kMaxImageSide));
  app.add_option("--repeats", repeats, "Timed loads per thread count; the median is reported")
      ->check(CLI::PositiveNumber);
  app.add_option("--json", json_path, "Also write the results as JSON to this file");
  if (const int code = acts::cli::parse(app, argc, argv); code >= 0) return code;
  if (version) return acts::cli::print_version("bench_data");
  if (dir.empty()) {
    std::fprintf(stderr, "bench_data: --data DIR is required (a folder with one sub-folder per class)\n");
    return 2;
  }

  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  if (threads.empty()) threads = cores > 1 ? std::vector<int>{1, cores} : std::vector<int>{1};
  try {
    LoadOptions o;
    o.height = o.width = size;
    o.warn = [](const std::string&) {};  // skipped files are counted per row, not repeated per load
    Row warm;
    o.threads = 0;
    std::fprintf(stderr, "bench_data: warm-up load of %s ...\n", dir.c_str());
    time_load(dir, o, warm);

    std::vector<Row> rows;
    for (const int t : threads) {
      Row row;
      row.threads = t;
      o.threads = t;
      for (int r = 0; r < repeats; ++r) row.seconds.push_back(time_load(dir, o, row));
      std::fprintf(stderr, "bench_data: %d thread(s): %.3f s\n", t, row.median_s());
      rows.push_back(row);
    }

    const std::string machine = bench::cpu_model() + ", " + std::to_string(cores) + " cores";
    const std::string date = bench::utc_now();
    std::printf("acts bench_data: load_directory(%s), %dx%d nearest, uint8 cache\n", dir.c_str(), size, size);
    std::printf("machine: %s; steady_clock, median of %d load(s) after 1 warm-up; %s\n", machine.c_str(), repeats,
                date.c_str());
    std::printf("%-8s %-8s %8s %8s %10s %12s\n", "impl", "threads", "images", "skipped", "seconds", "images/s");
    nlohmann::json jrows = nlohmann::json::array();
    for (const Row& w : rows) {
      std::printf("%-8s %-8d %8zu %8zu %10.3f %12.1f\n", "acts", w.threads, w.images, w.skipped, w.median_s(),
                  w.images_per_s());
      jrows.push_back({{"impl", "acts"},
                       {"threads", w.threads},
                       {"images", w.images},
                       {"skipped", w.skipped},
                       {"seconds", w.median_s()},
                       {"images_per_s", w.images_per_s()},
                       {"runs_s", w.seconds}});
    }
    if (!json_path.empty()) {
      const nlohmann::json j = {{"tool", "acts bench_data"},
                                {"version", version_text("bench_data")},
                                {"date", date},
                                {"machine", machine},
                                {"data", dir},
                                {"image_size", size},
                                {"repeats", repeats},
                                {"what", "load_directory: list, decode, nearest resize"},
                                {"rows", jrows}};
      write_file_atomic(json_path, j.dump(2) + "\n");
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_data: %s\n", e.what());
    return 1;
  }
  return 0;
}
