// index.html pages of dump_acts: self-contained (inline CSS, no scripts, no external assets),
// relative links only, so an output folder can be copied anywhere and opened offline.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/html_escape.h"

namespace acts {

struct PageLayer {
  std::string name, type, shape;                      // "conv2d_1", "Conv2D", "(1, 148, 148, 32)"
  std::string png;                                    // grid picture, relative; "" when none
  std::string npy;                                    // relative link to NAME.npy
  std::vector<std::pair<int, std::string>> channels;  // (k, relative NAME_chK.png)
  // --compare: the other model's grid and the difference's (NAME_b.png, NAME_diff.png) and NPYs
  std::string compare_png, diff_png, compare_npy, diff_npy;
  // --animate: the grid under each kept epoch of the run (NAME_epochs.webp) and its caption
  std::string animation, animation_text;
};

// One map of a class (heatmap_dump.h): its overlay and NPY, relative to the page.
struct PageMap {
  std::string label;  // "gradcam", "saliency"
  std::string png;    // "" when not drawn (builds without OpenCV)
  std::string npy;
};

// A class's heatmaps for one image: "dogs", "score 2.310 (logit), P = 0.910".
struct PageClass {
  std::string name, score;
  std::vector<PageMap> maps;
};

// A filter-pattern grid (--filters).
struct PageFilters {
  std::string layer, shape;  // "conv2d_1", "(32, 150, 150, 3)"
  std::string png, npy;      // relative; png "" when not drawn
};

struct ImagePage {
  std::string source, model, prediction;  // prediction: "P(dogs) = 0.271: dogs"
  std::string compare_model;              // --compare's model (B); "" when none
  std::string input_png, input_shape;     // "input.png", "(1, 150, 150, 3)"
  long row = 0, rows = 1;                 // this image's row in the NPY files, of `rows`
  std::string back;                       // link to the overview page; "" for a single image
  std::vector<PageLayer> layers;
  std::string truth;                 // the true class (--misclassified); "" when unknown
  std::string heat_layer;            // the layer of the heatmaps
  std::vector<PageClass> heatmaps;   // per class; empty without --cam/--saliency/--smoothgrad
  std::vector<PageFilters> filters;  // filter grids (single-image dumps show them here)
  std::string misclassified;         // link to misclassified.html; "" when not made
};

struct OverviewEntry {
  std::string stem, source, prediction;  // the page is stem/index.html, the thumbnail stem/input.png
};

struct OverviewPage {
  std::string model;
  std::vector<OverviewEntry> images;
  std::vector<std::pair<std::string, std::string>> npys;  // (NAME.npy, "(N, H, W, C)")
  std::vector<PageFilters> filters;                       // filter grids
  std::string misclassified;                              // link to misclassified.html; "" when not made
};

// misclassified.html (--misclassified): every misclassified photo of a split with its heatmaps.
struct MisclassifiedEntry {
  std::string page, thumb;                // its page and input picture, relative
  std::string source, truth, prediction;  // "cats", "P(dogs) = 0.9871: dogs"
  std::vector<PageClass> heatmaps;        // paths relative to misclassified.html
};

struct MisclassifiedPage {
  std::string model, split;  // split: the folder the photos came from
  size_t total = 0;          // photos predicted
  std::string heat_layer;
  std::vector<MisclassifiedEntry> images;
  std::string back;  // link to index.html; "" when none
};

std::string image_page_html(const ImagePage& p);
std::string overview_page_html(const OverviewPage& p);
std::string misclassified_page_html(const MisclassifiedPage& p);

// The pages' shared pieces: the document head with the house style, and a relative path as a
// quoted src/href value (url_path, then html_escape).
std::string page_head(const std::string& title);
std::string quoted_url(const std::string& path);

// A relative path for href/src (each byte outside [A-Za-z0-9-._~/] percent-encoded, so stems
// with spaces or '#' still link). html_escape(): runtime/core/html_escape.h.
std::string url_path(const std::string& s);

}  // namespace acts
