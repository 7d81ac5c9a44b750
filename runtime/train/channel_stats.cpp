#include "channel_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/core/errors.h"
#include "runtime/core/html_escape.h"
#include "runtime/core/npy.h"

namespace acts::training {

using nlohmann::json;

namespace {

// Layers whose output is another layer's, reshaped, or the input itself in inference: no
// statistics of their own.
bool has_own_channels(const std::string& keras_class) {
  for (const char* c :
       {"Flatten", "Dropout", "InputLayer", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"})
    if (keras_class == c) return false;
  return true;
}

// `count` distinct indices of [0, n) drawn by `seed` (a Fisher-Yates shuffle with a fixed
// generator, so every platform draws the same), in increasing order.
std::vector<size_t> draw(size_t n, size_t count, uint64_t seed) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
  for (size_t i = 0; i + 1 < n && i < count; ++i) {
    const size_t j = i + size_t(rng() % (n - i));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(std::min(n, count));
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::string svg_polyline(const std::vector<double>& xs, const std::vector<double>& ys, const char* style) {
  std::ostringstream p;
  p << "<polyline style=\"" << style << "\" points=\"";
  for (size_t i = 0; i < xs.size(); ++i) p << (i ? " " : "") << xs[i] << "," << ys[i];
  p << "\"/>";
  return p.str();
}

// One chart: series of values over the records (x: 0..n-1), drawn into w x h with a margin.
struct Chart {
  double w = 640, h = 180, lo = 0, hi = 1;
  size_t n = 1;
  double x(size_t i) const { return 40 + (n > 1 ? double(i) / double(n - 1) : 0.5) * (w - 50); }
  double y(double v) const { return h - 20 - (hi > lo ? (v - lo) / (hi - lo) : 0.5) * (h - 30); }
};

std::string loss_curves(const std::vector<EpochRecord>& history) {
  if (history.empty()) return "<p>No epoch finished yet.</p>\n";
  Chart c;
  c.n = history.size();
  c.lo = 0;
  c.hi = 1;
  for (const EpochRecord& r : history)
    for (double v : {r.loss, r.val_loss})
      if (std::isfinite(v)) c.hi = std::max(c.hi, v);
  std::ostringstream s;
  s << "<svg width=\"" << c.w << "\" height=\"" << c.h << "\" role=\"img\" aria-label=\"loss and accuracy\">";
  const struct {
    const char* name;
    double EpochRecord::*field;
    const char* style;
  } series[] = {{"loss", &EpochRecord::loss, "stroke:#1f77b4;fill:none"},
                {"val_loss", &EpochRecord::val_loss, "stroke:#1f77b4;fill:none;stroke-dasharray:4"},
                {"acc", &EpochRecord::acc, "stroke:#d62728;fill:none"},
                {"val_acc", &EpochRecord::val_acc, "stroke:#d62728;fill:none;stroke-dasharray:4"}};
  int legend = 0;
  for (const auto& se : series) {
    std::vector<double> xs, ys;
    for (size_t i = 0; i < history.size(); ++i)
      if (std::isfinite(history[i].*se.field)) {
        xs.push_back(c.x(i));
        ys.push_back(c.y(history[i].*se.field));
      }
    if (xs.empty()) continue;
    s << svg_polyline(xs, ys, se.style) << "<text x=\"" << 50 + 90 * legend++ << "\" y=\"12\" style=\"" << se.style
      << ";fill:#333;stroke:none\">" << se.name << "</text>";
  }
  s << "<text x=\"2\" y=\"" << c.y(c.hi) + 4 << "\">" << c.hi << "</text><text x=\"2\" y=\"" << c.y(0) + 4
    << "\">0</text><text text-anchor=\"end\" x=\"" << c.w - 4 << "\" y=\"" << c.h - 4 << "\">epoch " << history.size()
    << "</text></svg>\n";
  return s.str();
}

// A layer's timeline: every channel's mean over the records, the dead ones red, the collapsed
// ones orange (their state at the last record), and the counts per record below.
std::string layer_timeline(const ChannelStats::Layer& l, const std::vector<std::pair<int, int>>& marks) {
  const size_t records = marks.size(), C = size_t(l.channels);
  const std::vector<float> last(l.records.end() - ptrdiff_t(C * kStatFields), l.records.end());
  const std::vector<ChannelState> state = channel_states(last);
  Chart c;
  c.n = records;
  c.lo = 0;
  c.hi = 0;
  for (size_t i = 0; i < l.records.size(); i += kStatFields) {
    c.lo = std::min(c.lo, double(l.records[i]));
    c.hi = std::max(c.hi, double(l.records[i]));
  }
  std::ostringstream s;
  s << "<h2>" << html_escape(l.name) << " <small>(" << html_escape(l.keras_class) << ", " << C
    << " channels)</small></h2>\n<svg width=\"" << c.w << "\" height=\"" << c.h << "\" role=\"img\" aria-label=\""
    << html_escape(l.name) << " channel means\">";
  for (int pass = 0; pass < 3; ++pass)  // live first, so the marked channels are drawn on top
    for (size_t ch = 0; ch < C; ++ch) {
      const ChannelState st = state[ch];
      if ((pass == 0) != (st == ChannelState::kLive) || (pass == 1 && st != ChannelState::kCollapsed) ||
          (pass == 2 && st != ChannelState::kDead))
        continue;
      std::vector<double> xs, ys;
      for (size_t r = 0; r < records; ++r) {
        xs.push_back(c.x(r));
        ys.push_back(c.y(l.records[(r * C + ch) * kStatFields]));
      }
      s << svg_polyline(xs, ys,
                        st == ChannelState::kDead        ? "stroke:#d00;fill:none;stroke-width:2"
                        : st == ChannelState::kCollapsed ? "stroke:#f80;fill:none;stroke-width:2"
                                                         : "stroke:#999;fill:none;stroke-opacity:0.5");
    }
  s << "<text x=\"2\" y=\"" << c.y(c.hi) + 4 << "\">" << c.hi << "</text><text x=\"2\" y=\"" << c.y(c.lo) + 4 << "\">"
    << c.lo << "</text></svg>\n<table><tr><th>epoch.step</th><th>dead</th><th>collapsed</th></tr>";
  for (size_t r = 0; r < records; ++r)
    s << "<tr><td>" << marks[r].first << "." << marks[r].second << "</td><td" << (l.dead[r] ? " class=\"bad\"" : "")
      << ">" << l.dead[r] << "</td><td" << (l.collapsed[r] ? " class=\"bad\"" : "") << ">" << l.collapsed[r]
      << "</td></tr>";
  s << "</table>\n";
  return s.str();
}

// The dead and collapsed channels of one record (channels x kStatFields), appended to the layer's counts.
void count_states(ChannelStats::Layer& L, const std::vector<float>& record) {
  const std::vector<ChannelState> st = channel_states(record);
  L.dead.push_back(int(std::count(st.begin(), st.end(), ChannelState::kDead)));
  L.collapsed.push_back(int(std::count(st.begin(), st.end(), ChannelState::kCollapsed)));
}

}  // namespace

std::vector<float> stats_from_sums(const std::vector<double>& sums, double rows, const std::vector<float>& previous) {
  const size_t C = sums.size() / 4;
  std::vector<float> out(C * kStatFields);
  for (size_t c = 0; c < C; ++c) {
    const double mean = sums[c] / rows;
    const double var = std::max(0.0, sums[C + c] / rows - mean * mean);
    float* o = &out[c * kStatFields];
    o[0] = float(mean);
    o[1] = float(std::sqrt(var));
    o[2] = float(sums[2 * C + c] / rows);
    o[3] = float(sums[3 * C + c]);
    o[4] = previous.empty() ? 0.f : float(mean - double(previous[c * kStatFields]));
  }
  return out;
}

std::vector<ChannelState> channel_states(const std::vector<float>& stats) {
  const size_t C = stats.size() / kStatFields;
  std::vector<ChannelState> s(C, ChannelState::kLive);
  std::vector<float> live_std;
  for (size_t c = 0; c < C; ++c) {
    if (stats[c * kStatFields + 2] == 1.f)
      s[c] = ChannelState::kDead;
    else
      live_std.push_back(stats[c * kStatFields + 1]);
  }
  if (live_std.empty()) return s;
  std::nth_element(live_std.begin(), live_std.begin() + ptrdiff_t(live_std.size() / 2), live_std.end());
  const float median = live_std[live_std.size() / 2];
  for (size_t c = 0; c < C; ++c) {
    const float sd = stats[c * kStatFields + 1];
    if (s[c] == ChannelState::kLive && (sd == 0.f || sd < 1e-3f * median)) s[c] = ChannelState::kCollapsed;
  }
  return s;
}

ChannelStats::ChannelStats(const Graph& g, const Dataset& train, const Dataset& val, int probe, uint64_t seed,
                           float scale)
    : scale_(scale) {
  const Dataset& from = val.size() > 0 ? val : train;
  probe_split_ = val.size() > 0 ? "validation" : "train";
  if (probe <= 0 || from.size() == 0) return;
  const size_t image = size_t(from.height) * from.width * 3;
  for (size_t i : draw(from.size(), size_t(probe), seed)) {
    probe_.insert(probe_.end(), from.image(i), from.image(i) + image);
    probe_files_.push_back(i < from.files.size() ? from.files[i] : "#" + std::to_string(i));
  }
  probe_n_ = int(probe_files_.size());
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& nd = g.nodes()[i];
    const std::string cls = layer_type_name(nd.spec.type);
    if (has_own_channels(cls)) layers_.push_back({nd.spec.name, cls, int(i), nd.out_shape.back(), {}, {}, {}});
  }
}

void ChannelStats::record(Backend& be, int max_batch, int epoch, int step) {
  if (!enabled()) return;
  std::vector<std::vector<double>> sums(layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    sums[l].assign(4 * size_t(layers_[l].channels), 0.0);
    std::fill(sums[l].begin() + 3 * layers_[l].channels, sums[l].end(), -INFINITY);
  }
  const size_t image = probe_.size() / size_t(probe_n_);
  for (int first = 0; first < probe_n_; first += max_batch) {
    Batch b;
    b.n = std::min(max_batch, probe_n_ - first);
    b.images = probe_.data() + size_t(first) * image;
    b.scale = scale_;
    be.forward(b, false);
    for (size_t l = 0; l < layers_.size(); ++l) be.add_channel_sums(layers_[l].name, sums[l]);
  }
  for (size_t l = 0; l < layers_.size(); ++l) {
    Layer& L = layers_[l];
    const size_t per_record = size_t(L.channels) * kStatFields;
    const std::vector<float> previous =
        L.records.empty() ? std::vector<float>()
                          : std::vector<float>(L.records.end() - ptrdiff_t(per_record), L.records.end());
    const double rows = double(probe_n_) * double(be.graph().nodes()[size_t(L.node)].out_size) / L.channels;
    const std::vector<float> now = stats_from_sums(sums[l], rows, previous);
    L.records.insert(L.records.end(), now.begin(), now.end());
    count_states(L, now);
  }
  marks_.emplace_back(epoch, step);
}

void ChannelStats::resume(const std::string& dir, int epoch, int step) {
  if (!enabled()) return;
  const std::string index_path = dir + "/stats/index.json";
  if (!std::filesystem::exists(index_path)) return;  // a run from before the statistics
  try {
    std::ifstream in(index_path);
    const json index = json::parse(in);
    std::vector<std::pair<int, int>> marks;
    for (const json& r : index.at("records")) {
      const std::pair<int, int> m(r.at("epoch").get<int>(), r.at("step").get<int>());
      if (m.first < epoch || (m.first == epoch && m.second <= step)) marks.push_back(m);
    }
    std::vector<Layer> layers = layers_;
    for (Layer& L : layers) {
      const std::string path = dir + "/stats/" + L.name + ".npy";
      const NpyArray a = read_npy(path);
      if (a.shape.size() != 3 || a.shape[0] < marks.size() || a.shape[1] != size_t(L.channels) ||
          a.shape[2] != size_t(kStatFields))
        fail(path, ": not this run's statistics of ", L.name);
      const std::vector<float> all = a.to_float();
      const size_t per_record = size_t(L.channels) * kStatFields;
      L.records.assign(all.begin(), all.begin() + ptrdiff_t(marks.size() * per_record));
      for (size_t r = 0; r < marks.size(); ++r)
        count_states(L, std::vector<float>(L.records.begin() + ptrdiff_t(r * per_record),
                                           L.records.begin() + ptrdiff_t((r + 1) * per_record)));
    }
    layers_ = std::move(layers);
    marks_ = std::move(marks);
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "warning: %s: the channel statistics so far cannot be read (%s); they start again from "
                 "here\n",
                 index_path.c_str(), e.what());
  }
}

std::function<void()> ChannelStats::writer(const std::string& dir, const std::vector<EpochRecord>& history) const {
  if (!enabled() || marks_.empty()) return [] {};
  json index = {{"fields", std::vector<std::string>(kFields, kFields + kStatFields)},
                {"probe", {{"split", probe_split_}, {"images", probe_files_}}},
                {"records", json::array()},
                {"layers", json::array()}};
  for (const auto& [epoch, step] : marks_) index["records"].push_back({{"epoch", epoch}, {"step", step}});
  std::ostringstream page;
  page << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Channel statistics</title>\n"
          "<style>body{font-family:sans-serif;margin:1em 2em}svg{border:1px solid #ddd;display:block}"
          "table{border-collapse:collapse;font-size:smaller;margin:.3em 0 1.5em}td,th{border:1px solid #ddd;"
          "padding:1px 6px}.bad{color:#d00;font-weight:bold}</style>\n</head>\n<body>\n<h1>Channel statistics</h1>\n"
          "<p>"
       << probe_n_ << " " << probe_split_ << " photos, after each record: every channel's mean output (grey); "
       << "<span style=\"color:#d00\">dead</span>: zero on every photo at every position; "
          "<span style=\"color:#f80\">collapsed</span>: its standard deviation under 1e-3 of its layer's median. "
          "The numbers are in stats/*.npy (records, channels, [mean, std, zero_fraction, max, change]).</p>\n"
       << loss_curves(history);
  for (const Layer& L : layers_) {
    index["layers"].push_back({{"name", L.name},
                               {"class", L.keras_class},
                               {"channels", L.channels},
                               {"file", L.name + ".npy"},
                               {"dead", L.dead},
                               {"collapsed", L.collapsed}});
    page << layer_timeline(L, marks_);
  }
  page << "</body>\n</html>\n";
  return [dir, index = index.dump(1), page = page.str(), layers = layers_, records = marks_.size()] {
    std::filesystem::create_directories(dir + "/stats");
    for (const Layer& L : layers)
      write_npy(dir + "/stats/" + L.name + ".npy", L.records.data(),
                {records, size_t(L.channels), size_t(kStatFields)});
    write_file_atomic(dir + "/stats/index.json", index + "\n");
    write_file_atomic(dir + "/stats.html", page);
  };
}

}  // namespace acts::training
