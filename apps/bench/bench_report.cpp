// Table and JSON output of the bench program (format shared with scripts/bench/bench_pytorch.py).
#include "bench_report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "runtime/core/atomic_file.h"

namespace acts::bench {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

std::string table(const Report& r) {
  std::ostringstream os;
  os << r.tool << " on " << r.device << ": " << r.backend << "\n";
  os << "timing: " << r.clock << "; medians over the repeats; " << r.date << "\n";
  char line[1024];
  std::snprintf(line, sizeof line, "%-13s %-16s %-34s %11s %10s %8s  %s\n", "row", "impl", "case", "ms/unit",
                "images/s", "TFLOP/s", "note");
  os << line;
  for (const Row& w : r.rows) {
    if (w.skipped) {
      std::snprintf(line, sizeof line, "%-13s %-16s %-34s %11s %10s %8s  skipped: %s\n", w.id.c_str(),
                    w.impl.c_str(), w.what.c_str(), "-", "-", "-", w.note.c_str());
    } else {
      std::snprintf(line, sizeof line, "%-13s %-16s %-34s %11.3f %10.1f %8.3f  %s%s\n", w.id.c_str(),
                    w.impl.c_str(), w.what.c_str(), w.ms, w.images_per_s(), w.tflops(),
                    (w.unit + ", n=" + std::to_string(w.repeats)).c_str(),
                    w.note.empty() ? "" : ("; " + w.note).c_str());
    }
    os << line;
  }
  return os.str();
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& w : r.rows) {
    nlohmann::json j = {{"id", w.id},         {"what", w.what},       {"impl", w.impl},   {"batch", w.batch},
                        {"images", w.images}, {"unit", w.unit},       {"gflop", w.gflop}, {"repeats", w.repeats},
                        {"skipped", w.skipped}, {"note", w.note}};
    if (!w.skipped) {
      j["ms"] = w.ms;
      j["images_per_s"] = w.images_per_s();
      j["tflops"] = w.tflops();
    }
    rows.push_back(j);
  }
  return {{"tool", r.tool},
          {"device", r.device},
          {"backend", r.backend},
          {"clock", r.clock},
          {"version", r.version},
          {"date", r.date},
          {"settings", r.settings},
          {"flop_per_image", {{"forward", kForwardFlopPerImage}, {"train", kTrainFlopPerImage}}},
          {"rows", rows}};
}

void write_json(const Report& r, const std::string& path) { write_file_atomic(path, to_json(r).dump(2) + "\n"); }

}  // namespace acts::bench
