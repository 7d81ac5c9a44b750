#include "bench_profile.h"

#include <cstdio>
#include <random>

#include "bench_report.h"
#include "runtime/core/errors.h"

namespace acts::bench {

namespace {

std::string row(const std::string& op, double ms, double share) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-36s %10.4f %6.1f%%\n", op.c_str(), ms, share);
  return buf;
}

std::string indent(const std::string& text, const std::string& pad) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    out += pad + text.substr(at, end == std::string::npos ? std::string::npos : end - at + 1);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

// One batch size: `warmup` ordinary steps, then `repeats` profiled ones, all on one batch of
// random images.
std::string profile_one(const Graph& g, Backend& be, int batch, int warmup, int repeats) {
  if (repeats < 1) fail("bench --profile: needs at least one repeat");
  std::mt19937 rng(5);
  std::vector<uint8_t> images(size_t(batch) * g.input_size());
  std::vector<float> labels(static_cast<size_t>(batch));
  for (uint8_t& v : images) v = uint8_t(rng());
  for (float& y : labels) y = float(rng() & 1);
  Batch b;
  b.n = batch;
  b.images = images.data();
  b.labels = labels.data();
  for (int i = 0; i < warmup; ++i) be.train_step(b);
  std::vector<std::vector<OpTime>> runs;
  for (int r = 0; r < repeats; ++r) runs.push_back(be.profile_train_step(b));
  be.take_metrics();

  const std::vector<OpTime>& first = runs.front();
  double total = 0;
  std::vector<double> med(first.size());
  for (size_t k = 0; k < first.size(); ++k) {
    std::vector<double> ms;
    for (const auto& run : runs) {
      if (run.size() != first.size() || run[k].op != first[k].op)
        fail("bench --profile: the profiled steps marked different ops");
      ms.push_back(run[k].ms);
    }
    med[k] = median(ms);
    total += med[k];
  }
  std::string out = "profile: one training step at batch " + std::to_string(batch) + " on " + be.name() +
                    "; median of " + std::to_string(repeats) + " eager steps, op by op\n";
  char head[128];
  std::snprintf(head, sizeof head, "  %-36s %10s %7s\n", "op", "ms", "share");
  out += head;
  for (size_t k = 0; k < first.size(); ++k) out += row(first[k].op, med[k], total > 0 ? 100 * med[k] / total : 0);
  out += row("sum (one eager step)", total, 100);
  char rate[160];
  std::snprintf(rate, sizeof rate, "  %.1f images/s; %.2f TFLOP/s at %.3f GFLOP per training image\n",
                total > 0 ? batch / (total / 1e3) : 0, total > 0 ? kTrainFlopPerImage * batch / 1e9 / total : 0,
                kTrainFlopPerImage / 1e9);
  out += rate;
  const std::string algos = be.algorithms();
  if (!algos.empty()) out += "  algorithms (max batch):\n" + indent(algos, "    ");
  return out + "\n";
}

}  // namespace

std::string profile_table(const Graph& g, const std::function<std::unique_ptr<Backend>(int)>& make,
                          const std::vector<int>& batches, int warmup, int repeats) {
  std::string out;
  for (int batch : batches) {
    auto be = make(batch);
    out += profile_one(g, *be, batch, warmup, repeats);
  }
  return out;
}

}  // namespace acts::bench
