#include "progress.h"

#include <cmath>

namespace acts {

using clock_type = std::chrono::steady_clock;

std::string format_metric(const char* name, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, " - %s: %.4f", name, v);
  return buf;
}

Progress::Progress(int target, bool live, std::FILE* out)
    : target_(target), live_(live), out_(out), start_(clock_type::now()), last_draw_(start_ - std::chrono::seconds(1)) {}

double Progress::elapsed() const { return std::chrono::duration<double>(clock_type::now() - start_).count(); }

// Keras' Progbar: "%{digits}d/%d [" then 30 cells: '=' done, '>' the current one, '.' the rest.
std::string Progress::bar(int done) const {
  const int digits = int(std::floor(std::log10(double(target_)))) + 1;
  char head[64];
  std::snprintf(head, sizeof head, "%*d/%d [", digits, done, target_);
  const int width = 30, filled = int(double(width) * done / target_);
  std::string cells;
  if (filled > 0) cells += std::string(size_t(filled - 1), '=') + (done < target_ ? ">" : "=");
  cells += std::string(size_t(width - filled), '.');
  return head + cells + "]";
}

void Progress::update(int done, double loss, double acc) {
  if (!live_) return;
  const auto now = clock_type::now();
  if (done < target_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double per_step = done > 0 ? elapsed() / done : 0;
  char eta[48];
  std::snprintf(eta, sizeof eta, " - ETA: %.0fs", per_step * (target_ - done));
  std::string line = bar(done) + eta + format_metric("loss", loss) + format_metric("acc", acc);
  const size_t len = line.size();
  if (len < last_len_) line += std::string(last_len_ - len, ' ');  // wipe a longer previous line
  last_len_ = len;
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
}

void Progress::finish(int done, double loss, double acc, const std::string& extra) {
  const double t = elapsed();
  char timing[64];
  std::snprintf(timing, sizeof timing, " - %.0fs %.0fms/step", t, done > 0 ? 1000 * t / done : 0.0);
  std::string line = bar(done) + timing + format_metric("loss", loss) + format_metric("acc", acc) + extra;
  if (live_ && line.size() < last_len_) line += std::string(last_len_ - line.size(), ' ');
  std::fprintf(out_, "%s%s\n", live_ ? "\r" : "", line.c_str());
  std::fflush(out_);
}

}  // namespace acts
