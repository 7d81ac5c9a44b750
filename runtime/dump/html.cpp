#include "html.h"

#include <cctype>
#include <cstdio>
#include <sstream>

namespace acts {

namespace {

const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:20px;background:#fafafa;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin:0 0 6px}code,.shape{font-family:monospace}"
    ".shape{color:#555;font-weight:normal}.type{color:#777;font-weight:normal;font-size:.9em}"
    "img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc;background:#fff}"
    ".layer{margin:22px 0;padding-top:8px;border-top:1px solid #ddd}.meta{color:#444;line-height:1.6}"
    ".channels{display:flex;flex-wrap:wrap;gap:12px;margin-top:8px}.channels figure{margin:0}.channels img{width:320px}"
    "figcaption{font-size:.85em;color:#555}table{border-collapse:collapse}"
    "td,th{padding:6px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}"
    "nav a{margin-right:10px}.maps{display:flex;flex-wrap:wrap;gap:12px;margin:6px 0 14px}.maps figure{margin:0}"
    ".maps img{width:220px;image-rendering:auto}.thumbs img{width:120px;image-rendering:auto}.wrong{color:#b00}";

// The input beside each class's maps (overlay, with a link to its NPY), one row per class.
std::string heatmap_rows(const std::vector<PageClass>& classes, const std::string& input_png, const char* css) {
  std::ostringstream h;
  for (const PageClass& c : classes) {
    h << "<h3>" << html_escape(c.name) << " <span class=\"shape\">" << html_escape(c.score)
      << "</span></h3>\n<div class=\"" << css << "\">\n";
    if (!input_png.empty())
      h << "<figure><img src=" << quoted_url(input_png) << " alt=\"input\"><figcaption>input</figcaption></figure>\n";
    for (const PageMap& m : c.maps) {
      h << "<figure>";
      if (!m.png.empty()) h << "<img src=" << quoted_url(m.png) << " alt=\"" << html_escape(m.label + " " + c.name) << "\">";
      h << "<figcaption>" << html_escape(m.label) << " <a href=" << quoted_url(m.npy) << ">npy</a></figcaption></figure>\n";
    }
    h << "</div>\n";
  }
  return h.str();
}

std::string filter_sections(const std::vector<PageFilters>& filters) {
  std::ostringstream h;
  for (const PageFilters& f : filters) {
    h << "<div class=\"layer\" id=\"filters_" << html_escape(url_path(f.layer)) << "\"><h2>What the filters of "
      << html_escape(f.layer) << " respond to <span class=\"shape\">" << html_escape(f.shape)
      << "</span></h2>\n<a href=" << quoted_url(f.npy) << ">" << html_escape(f.npy) << "</a><br>\n";
    if (!f.png.empty())
      h << "<img src=" << quoted_url(f.png) << " alt=\"filter patterns of " << html_escape(f.layer)
        << "\" style=\"image-rendering:auto\">\n";
    h << "</div>\n";
  }
  return h.str();
}

}  // namespace

std::string page_head(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title) +
         "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
}

std::string quoted_url(const std::string& path) { return "\"" + html_escape(url_path(path)) + "\""; }


std::string url_path(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += char(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string image_page_html(const ImagePage& p) {
  std::ostringstream h;
  h << page_head("dump_acts: " + p.source);
  h << "<h1>What each layer sees</h1>\n<p class=\"meta\">";
  if (!p.back.empty()) h << "<a href=" << quoted_url(p.back) << ">&larr; all images</a><br>\n";
  h << "Image: <code>" << html_escape(p.source) << "</code><br>\nModel: <code>" << html_escape(p.model)
    << "</code><br>\n";
  if (!p.compare_model.empty())
    h << "Compared with: <code>" << html_escape(p.compare_model) << "</code> (B; each layer: A, B and B &minus; A, "
      << "each channel scaled on its own)<br>\n";
  if (!p.prediction.empty()) h << "Prediction: " << html_escape(p.prediction) << "<br>\n";
  if (!p.truth.empty()) h << "True class: " << html_escape(p.truth) << "<br>\n";
  if (!p.misclassified.empty()) h << "<a href=" << quoted_url(p.misclassified) << ">misclassified photos</a><br>\n";
  if (p.rows > 1) h << "Row " << p.row << " of the " << p.rows << " images in the NPY files<br>\n";
  h << "</p>\n<nav>";
  for (const PageLayer& l : p.layers)
    h << "<a href=\"#" << html_escape(url_path(l.name)) << "\">" << html_escape(l.name) << "</a>";
  h << "</nav>\n";
  h << "<div class=\"layer\"><h2>input <span class=\"shape\">" << html_escape(p.input_shape) << "</span></h2>\n";
  if (!p.input_png.empty())
    h << "<img src=" << quoted_url(p.input_png) << " alt=\"preprocessed input\" style=\"width:300px\">\n";
  h << "</div>\n";
  if (!p.heatmaps.empty())
    h << "<div class=\"layer\" id=\"heatmaps\"><h2>Where the model looks <span class=\"type\">per class: "
      << (p.heat_layer.empty() ? "" : "heatmaps of " + html_escape(p.heat_layer) + ", ")
      << "saliency of the input pixels</span></h2>\n"
      << heatmap_rows(p.heatmaps, p.input_png, "maps") << "</div>\n";
  h << filter_sections(p.filters);
  for (const PageLayer& l : p.layers) {
    h << "<div class=\"layer\" id=\"" << html_escape(url_path(l.name)) << "\"><h2>" << html_escape(l.name)
      << " <span class=\"type\">" << html_escape(l.type) << "</span> <span class=\"shape\">" << html_escape(l.shape)
      << "</span></h2>\n<a href=" << quoted_url(l.npy) << ">" << html_escape(l.name) << ".npy</a>";
    if (p.rows > 1) h << " (this image: row " << p.row << ")";
    h << "<br>\n";
    if (!l.compare_npy.empty())
      h << " <a href=" << quoted_url(l.compare_npy) << ">" << html_escape(l.name) << "_b.npy</a> <a href="
        << quoted_url(l.diff_npy) << ">" << html_escape(l.name) << "_diff.npy</a><br>\n";
    if (!l.png.empty() && !l.compare_png.empty())
      h << "<div>\n<figure><img src=" << quoted_url(l.png) << " alt=\"" << html_escape(l.name)
        << " channels, A\"><figcaption>A: " << html_escape(p.model) << "</figcaption></figure>\n<figure><img src="
        << quoted_url(l.compare_png) << " alt=\"" << html_escape(l.name) << " channels, B\"><figcaption>B: "
        << html_escape(p.compare_model) << "</figcaption></figure>\n<figure><img src=" << quoted_url(l.diff_png)
        << " alt=\"" << html_escape(l.name) << " channels, B - A\"><figcaption>B &minus; A</figcaption></figure>\n"
        << "</div>\n";
    else if (!l.png.empty())
      h << "<img src=" << quoted_url(l.png) << " alt=\"" << html_escape(l.name) << " channels\">\n";
    if (!l.animation.empty())
      h << "<figure><img src=" << quoted_url(l.animation) << " alt=\"" << html_escape(l.name)
        << " channels over the epochs\"><figcaption>" << html_escape(l.animation_text) << "</figcaption></figure>\n";
    if (!l.channels.empty()) {
      h << "<div class=\"channels\">\n";
      for (const auto& [k, png] : l.channels)
        h << "<figure><img src=" << quoted_url(png) << " alt=\"channel " << k << "\"><figcaption>channel " << k
          << "</figcaption></figure>\n";
      h << "</div>\n";
    }
    h << "</div>\n";
  }
  h << "</body>\n</html>\n";
  return h.str();
}

std::string overview_page_html(const OverviewPage& p) {
  std::ostringstream h;
  h << page_head("dump_acts: " + std::to_string(p.images.size()) + " images");
  h << "<h1>What each layer sees: " << p.images.size() << " images</h1>\n<p class=\"meta\">Model: <code>"
    << html_escape(p.model) << "</code></p>\n";
  if (!p.misclassified.empty()) h << "<p><a href=" << quoted_url(p.misclassified) << ">misclassified photos</a></p>\n";
  if (!p.images.empty()) h << "<table>\n<tr><th>row</th><th>input</th><th>image</th><th>prediction</th></tr>\n";
  for (size_t i = 0; i < p.images.size(); ++i) {
    const OverviewEntry& e = p.images[i];
    const std::string page = e.stem + "/index.html";
    h << "<tr><td>" << i << "</td><td><a href=" << quoted_url(page) << "><img src=" << quoted_url(e.stem + "/input.png")
      << " alt=\"" << html_escape(e.stem) << "\" style=\"width:96px\"></a></td><td><a href=" << quoted_url(page) << ">"
      << html_escape(e.source) << "</a></td><td>" << html_escape(e.prediction) << "</td></tr>\n";
  }
  if (!p.images.empty()) h << "</table>\n";
  h << filter_sections(p.filters);
  h << "<h2 style=\"margin-top:20px\">NPY files (row i = image i)</h2>\n<ul>\n";
  for (const auto& [npy, shape] : p.npys)
    h << "<li><a href=" << quoted_url(npy) << ">" << html_escape(npy) << "</a> <span class=\"shape\">" << html_escape(shape)
      << "</span></li>\n";
  h << "</ul>\n</body>\n</html>\n";
  return h.str();
}

std::string misclassified_page_html(const MisclassifiedPage& p) {
  std::ostringstream h;
  h << page_head("dump_acts: misclassified photos");
  h << "<h1>Misclassified: " << p.images.size() << " of " << p.total << " photos</h1>\n<p class=\"meta\">";
  if (!p.back.empty()) h << "<a href=" << quoted_url(p.back) << ">&larr; index</a><br>\n";
  h << "Photos: <code>" << html_escape(p.split) << "</code><br>\nModel: <code>" << html_escape(p.model)
    << "</code><br>\n"
    << (p.heat_layer.empty() ? "Saliency" : "Heatmaps of <code>" + html_escape(p.heat_layer) + "</code>")
    << " for each class</p>\n";
  if (p.images.empty()) h << "<p>The model classifies every photo of this split correctly.</p>\n";
  for (const MisclassifiedEntry& e : p.images) {
    h << "<div class=\"layer\"><h2><a href=" << quoted_url(e.page) << ">" << html_escape(e.source) << "</a></h2>\n"
      << "<p class=\"meta\">True class: " << html_escape(e.truth)
      << "<br>\n<span class=\"wrong\">Prediction: " << html_escape(e.prediction) << "</span></p>\n"
      << heatmap_rows(e.heatmaps, e.thumb, "maps thumbs") << "</div>\n";
  }
  h << "</body>\n</html>\n";
  return h.str();
}

}  // namespace acts
