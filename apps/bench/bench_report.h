// The bench program's results: one Row per measured case, printed as a table and written as
// JSON. scripts/bench/bench_pytorch.py writes the same fields, so scripts/bench/bench_compare.py can match
// rows by id and divide.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace acts::bench {

// Forward FLOPs of one size x size image through the tutorial CNN (one multiply-add = 2): its
// 3x3 'valid' convolutions, each followed by a flooring 2x2 pooling, and its two Dense layers.
constexpr double tutorial_forward_flop(int size) {
  double macs = 0;
  int s = size, c = 3;
  for (int f : {32, 64, 128, 128}) {
    s -= 2;  // 3x3 'valid'
    macs += double(s) * s * f * 9 * c;
    s /= 2;  // 2x2 max pooling floors
    c = f;
  }
  return 2 * (macs + double(s) * s * c * 512 + 512);
}

// Work per image in FLOPs at 150 px, from the tutorial model's layer shapes:
//   conv2d_1 148*148*32 outputs x 27 MACs  =  18.9 M MAC
//   conv2d_2  72*72*64  outputs x 288      =  95.6 M
//   conv2d_3  34*34*128 outputs x 576      =  85.2 M
//   conv2d_4  15*15*128 outputs x 1152     =  33.2 M
//   dense_1   6272 x 512                   =   3.2 M;  dense_2 512 x 1
//   sum 236.1 M MAC = 0.4722 GFLOP forward (pooling, activations, loss are not counted).
// Training = 3 x forward (forward, input gradients, weight gradients) = 1.4166 GFLOP: the
// usual convention. It counts conv2d_1's input gradient, which nobody computes; without it
// the work is 1.3787 GFLOP, so the TFLOP/s of training rows are ~3% above the real rate.
constexpr double kForwardFlopPerImage = tutorial_forward_flop(150);  // 0.472190976e9
static_assert(kForwardFlopPerImage == 0.472190976e9);
constexpr double kTrainFlopPerImage = 3 * kForwardFlopPerImage;

struct Row {
  std::string id;           // "train_b20": the key PyTorch's rows are matched on
  std::string what;         // "training step, batch 20"
  std::string impl = "acts";
  int batch = 0;
  long images = 0;          // images per timed unit (a step, or a whole run)
  std::string unit = "step";
  double gflop = 0;         // per timed unit
  double ms = 0;            // median per timed unit
  int repeats = 0;          // timed units the median is over
  bool skipped = false;
  std::string note;         // why skipped, or how the case was scaled down

  double images_per_s() const { return ms > 0 ? images / (ms / 1e3) : 0; }
  double tflops() const { return ms > 0 ? gflop / ms : 0; }  // GFLOP per ms = TFLOP/s
};

struct Report {
  std::string tool, device, backend, clock, version, date;
  nlohmann::json settings = nlohmann::json::object();
  std::vector<Row> rows;
};

std::string table(const Report& r);
nlohmann::json to_json(const Report& r);
void write_json(const Report& r, const std::string& path);  // atomically; throws acts::Error

double median(std::vector<double> v);
std::string utc_now();  // "2025-01-31T12:00:00Z"
std::string cpu_model();  // "Intel(R) Xeon(R) ...", from /proc/cpuinfo

}  // namespace acts::bench
