#include "curves.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/core/errors.h"

namespace acts {

namespace {

const cv::Scalar kBlue(255, 0, 0), kBlack(0, 0, 0), kGrid(225, 225, 225), kWhite(255, 255, 255);
const int kFont = cv::FONT_HERSHEY_SIMPLEX;

// A "nice" tick step (1, 2, 2.5 or 5 x 10^k) giving about `want` ticks over the span.
double tick_step(double span, int want) {
  const double raw = span / want, mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale, bool centre = false) {
  int base = 0;
  const cv::Size sz = cv::getTextSize(s, kFont, scale, 1, &base);
  if (centre) at.x -= sz.width / 2;
  cv::putText(img, s, at, kFont, scale, kBlack, 1, cv::LINE_AA);
}

// A panel's plot area and the ranges it shows: epochs x_lo..x_hi across, values lo..hi up.
struct Axes {
  cv::Rect plot;
  double x_lo, x_hi, lo, hi;
  cv::Point at(double e, double v) const {
    return cv::Point(plot.x + int(std::lround((e - x_lo) / (x_hi - x_lo) * plot.width)),
                     plot.y + plot.height - int(std::lround((v - lo) / (hi - lo) * plot.height)));
  }
};

// The axes of a panel in `box` over epochs 1..n: the values of `train` and `val`, padded by 5%.
Axes fit_axes(cv::Rect box, const std::vector<double>& train, const std::vector<double>& val) {
  const int n = int(train.size());
  double lo = *std::min_element(train.begin(), train.end()), hi = *std::max_element(train.begin(), train.end());
  if (!val.empty()) {
    lo = std::min(lo, *std::min_element(val.begin(), val.end()));
    hi = std::max(hi, *std::max_element(val.begin(), val.end()));
  }
  if (!(hi > lo)) { lo -= 0.05; hi += 0.05; }
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  return {cv::Rect(box.x + 70, box.y + 50, box.width - 100, box.height - 110), 0.5, std::max(n, 2) + 0.5, lo, hi};
}

// Grid lines with value labels, epoch ticks with numbers, and the frame.
void draw_axes(cv::Mat& img, const Axes& ax) {
  const cv::Rect& plot = ax.plot;
  const double ys = tick_step(ax.hi - ax.lo, 6);
  for (double t = std::ceil(ax.lo / ys) * ys; t <= ax.hi; t += ys) {
    const cv::Point p = ax.at(ax.x_lo, t);
    cv::line(img, p, {plot.x + plot.width, p.y}, kGrid, 1);
    char buf[32];
    std::snprintf(buf, sizeof buf, ys < 0.01 ? "%.3f" : "%.2f", std::fabs(t) < 1e-9 ? 0.0 : t);  // no "-0.00"
    text(img, buf, {plot.x - 60, p.y + 5}, 0.42);
  }
  const double xs = std::max(1.0, tick_step(ax.x_hi - ax.x_lo, 8));
  for (double e = std::ceil(ax.x_lo / xs) * xs; e <= ax.x_hi; e += xs) {
    const cv::Point p = ax.at(e, ax.lo);
    cv::line(img, p, {p.x, p.y + 5}, kBlack, 1);
    text(img, std::to_string(int(e)), {p.x, p.y + 22}, 0.42, true);
  }
  cv::rectangle(img, plot, kBlack, 1);
}

// The legend's size; its height is 20 less without a validation line.
const cv::Size kLegend(180, 48);

// The corner for the legend that hides the fewest data points (matplotlib's loc='best'): the
// dots, and samples along the validation line.
cv::Point legend_corner(const Axes& ax, const std::vector<double>& train, const std::vector<double>& val) {
  const cv::Rect& plot = ax.plot;
  const int n = int(train.size());
  const cv::Point corners[] = {{plot.x + plot.width - kLegend.width - 10, plot.y + 12},
                               {plot.x + plot.width - kLegend.width - 10, plot.y + plot.height - kLegend.height - 12},
                               {plot.x + 10, plot.y + 12},
                               {plot.x + 10, plot.y + plot.height - kLegend.height - 12}};
  cv::Point lg = corners[0];
  int fewest = 1 << 30;
  for (const cv::Point& c : corners) {
    const cv::Rect area(c.x - 8, c.y - 8, kLegend.width + 16, kLegend.height + 16);
    int hidden = 0;
    for (int i = 0; i < n; ++i)
      for (int k = 0; k <= 8; ++k) {
        const double e = i + 1 + k / 8.0;
        if (k == 0) hidden += area.contains(ax.at(i + 1, train[size_t(i)]));
        if (val.empty()) continue;
        if (i + 1 < n)
          hidden += area.contains(ax.at(e, val[size_t(i)] + (val[size_t(i) + 1] - val[size_t(i)]) * k / 8.0));
        else if (k == 0)
          hidden += area.contains(ax.at(i + 1, val[size_t(i)]));
      }
    if (hidden < fewest) {
      fewest = hidden;
      lg = c;
    }
  }
  return lg;
}

void draw_legend(cv::Mat& img, cv::Point lg, const std::string& what, bool with_val) {
  const int height = with_val ? kLegend.height : kLegend.height - 20;
  cv::rectangle(img, {lg.x, lg.y, kLegend.width, height}, kWhite, cv::FILLED);
  cv::rectangle(img, {lg.x, lg.y, kLegend.width, height}, kGrid, 1);
  cv::circle(img, {lg.x + 18, lg.y + 15}, 5, kBlue, cv::FILLED, cv::LINE_AA);
  text(img, "Training " + what, {lg.x + 36, lg.y + 20}, 0.45);
  if (!with_val) return;
  cv::line(img, {lg.x + 6, lg.y + 35}, {lg.x + 30, lg.y + 35}, kBlue, 2, cv::LINE_AA);
  text(img, "Validation " + what, {lg.x + 36, lg.y + 40}, 0.45);
}

// One panel: `train` as dots, `val` as a line (none when empty: a run without validation),
// against epochs 1..n.
void panel(cv::Mat& img, cv::Rect box, const std::string& title, const std::string& what,
           const std::vector<double>& train, const std::vector<double>& val) {
  const int n = int(train.size());
  const Axes ax = fit_axes(box, train, val);
  const cv::Rect& plot = ax.plot;
  draw_axes(img, ax);
  for (int i = 0; i + 1 < int(val.size()); ++i)
    cv::line(img, ax.at(i + 1, val[size_t(i)]), ax.at(i + 2, val[size_t(i) + 1]), kBlue, 2, cv::LINE_AA);
  if (val.size() == 1) cv::circle(img, ax.at(1, val[0]), 2, kBlue, cv::FILLED, cv::LINE_AA);
  for (int i = 0; i < n; ++i) cv::circle(img, ax.at(i + 1, train[size_t(i)]), 5, kBlue, cv::FILLED, cv::LINE_AA);
  text(img, title, {box.x + box.width / 2, box.y + 30}, 0.6, true);
  text(img, "epoch", {plot.x + plot.width / 2, plot.y + plot.height + 45}, 0.5, true);
  draw_legend(img, legend_corner(ax, train, val), what, !val.empty());
}

}  // namespace

void write_curves_png(const std::string& path, const std::vector<EpochRecord>& h) {
  if (h.empty()) return;
  std::vector<double> acc, val_acc, loss, val_loss;
  for (const EpochRecord& r : h) {
    acc.push_back(r.acc);
    loss.push_back(r.loss);
    if (std::isnan(r.val_loss)) continue;  // no validation
    val_acc.push_back(r.val_acc);
    val_loss.push_back(r.val_loss);
  }
  if (val_acc.size() != acc.size()) val_acc.clear(), val_loss.clear();
  cv::Mat img(480, 1280, CV_8UC3, kWhite);
  panel(img, {0, 0, 640, 480}, "Training and validation accuracy", "acc", acc, val_acc);
  panel(img, {640, 0, 640, 480}, "Training and validation loss", "loss", loss, val_loss);
  std::vector<uchar> png;
  if (!cv::imencode(".png", img, png)) fail(path, ": could not encode the PNG");
  AtomicFile f(path);
  f.write(png.data(), png.size());
  f.commit();
}

}  // namespace acts
