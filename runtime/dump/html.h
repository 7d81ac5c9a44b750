// index.html pages of dump_acts: self-contained (inline CSS, no scripts, no external assets),
// relative links only, so an output folder can be copied anywhere and opened offline.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace acts {

struct PageLayer {
  std::string name, type, shape;                      // "conv2d_1", "Conv2D", "(1, 148, 148, 32)"
  std::string png;                                    // grid picture, relative; "" when none
  std::string npy;                                    // relative link to NAME.npy
  std::vector<std::pair<int, std::string>> channels;  // (k, relative NAME_chK.png)
};

struct ImagePage {
  std::string source, model, prediction;  // prediction: "P(dogs) = 0.271: dogs"
  std::string input_png, input_shape;     // "input.png", "(1, 150, 150, 3)"
  long row = 0, rows = 1;                 // this image's row in the NPY files, of `rows`
  std::string back;                       // link to the overview page; "" for a single image
  std::vector<PageLayer> layers;
};

struct OverviewEntry {
  std::string stem, source, prediction;  // the page is stem/index.html, the thumbnail stem/input.png
};

struct OverviewPage {
  std::string model;
  std::vector<OverviewEntry> images;
  std::vector<std::pair<std::string, std::string>> npys;  // (NAME.npy, "(N, H, W, C)")
};

std::string image_page_html(const ImagePage& p);
std::string overview_page_html(const OverviewPage& p);

// Text for HTML (& < > " escaped) and a relative path for href/src (each byte outside
// [A-Za-z0-9-._~/] percent-encoded, so stems with spaces or '#' still link).
std::string html_escape(const std::string& s);
std::string url_path(const std::string& s);

}  // namespace acts
