#include "top_pages.h"

#include <cstdio>
#include <sstream>

#include "html.h"

namespace acts {

namespace {

const char* kTopStyle =
    "<style>.top{display:flex;align-items:center;gap:6px;margin:4px 0}.top .k{width:90px;font-family:monospace}"
    ".top figure{margin:0;text-align:center}.top img{width:72px;height:72px;object-fit:contain}"
    ".mark{display:inline-block;margin:6px}.mark svg{width:225px;border:1px solid #ccc}"
    ".mark:target{outline:3px solid #e33}</style>\n";

std::string number(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", double(v));
  return b;
}

}  // namespace

std::string top_layer_page_html(const TopLayerPage& p) {
  std::ostringstream h;
  h << page_head("dump_acts --top: " + p.layer) << kTopStyle << "<nav><a href=\"index.html\">&larr; all layers</a></nav>\n"
    << "<h1>" << html_escape(p.layer) << " <span class=\"shape\">" << html_escape(p.shape) << "</span></h1>\n"
    << "<p class=\"meta\">Each channel's top images, best first: the crop is what one unit at the channel's peak "
       "sees (its receptive field, " << html_escape(p.field) << "), the number its peak value. Numbers: <a href="
    << quoted_url(p.npy) << ">" << html_escape(p.npy) << "</a>, <a href=" << quoted_url(p.json) << ">"
    << html_escape(p.json) << "</a></p>\n";
  for (size_t c = 0; c < p.channels.size(); ++c) {
    // A channel that is never above 0 on any image (a dead relu) has no top images worth the name.
    const bool dead = p.channels[c].empty() || !(p.channels[c][0].value > 0);
    h << "<div class=\"top\" id=\"c" << c << "\"><span class=\"k\">channel " << c
      << (dead ? "<br>never above 0" : "") << "</span>\n";
    for (const TopCell& t : p.channels[c]) {
      h << "<figure><a href=\"" << html_escape(url_path(t.page)) << "#" << html_escape(url_path(t.anchor)) << "\" title=\"" << html_escape(t.source) << "\">";
      if (!t.crop.empty()) h << "<img src=" << quoted_url(t.crop) << " alt=\"" << html_escape(t.source) << "\">";
      h << "</a><figcaption>" << number(t.value) << "</figcaption></figure>\n";
    }
    h << "</div>\n";
  }
  return h.str() + "</body>\n</html>\n";
}

std::string top_image_page_html(const TopImagePage& p) {
  std::ostringstream h;
  h << page_head("dump_acts --top: " + p.source) << kTopStyle
    << "<nav><a href=\"../index.html\">&larr; all layers</a></nav>\n<h1>" << html_escape(p.source) << "</h1>\n"
    << "<p class=\"meta\">The photo as the model sees it (" << p.height << " x " << p.width
    << "), and the pixels seen by each unit whose channel it tops.</p>\n<img src=" << quoted_url(p.png)
    << " alt=\"the photo\" style=\"width:300px\">\n";
  for (const TopMark& m : p.marks) {
    const PixelBox& b = m.box;
    h << "<figure class=\"mark\" id=\"" << html_escape(m.id) << "\"><svg viewBox=\"0 0 " << p.width << " "
      << p.height << "\" role=\"img\"><image href=" << quoted_url(p.png) << " width=\"" << p.width << "\" height=\""
      << p.height << "\"/><rect x=\"" << b.left << "\" y=\"" << b.top << "\" width=\"" << b.right - b.left
      << "\" height=\"" << b.bottom - b.top << "\" fill=\"none\" stroke=\"#e33\" stroke-width=\"2\" vector-effect=\"non-scaling-stroke\"/></svg>"
      << "<figcaption>" << html_escape(m.label) << "</figcaption></figure>\n";
  }
  return h.str() + "</body>\n</html>\n";
}

std::string top_index_html(const TopIndexPage& p) {
  std::ostringstream h;
  h << page_head("dump_acts --top") << "<h1>Top " << p.top << " images per channel</h1>\n<p class=\"meta\">Model: "
    << html_escape(p.model) << "<br>Data: " << html_escape(p.data) << " (" << p.images << " images, "
    << "<a href=\"images.txt\">images.txt</a>)</p>\n<table>\n<tr><th>layer</th><th>output</th><th>channels</th>"
       "<th>receptive field</th><th>numbers</th><th>the first channels' best</th></tr>\n";
  for (const TopIndexLayer& l : p.layers) {
    h << "<tr><td>";
    if (!l.page.empty())
      h << "<a href=" << quoted_url(l.page) << ">" << html_escape(l.layer) << "</a>";
    else
      h << html_escape(l.layer);
    h << "</td><td class=\"shape\">" << html_escape(l.shape) << "</td><td>" << l.channels << "</td><td>"
      << html_escape(l.field) << "</td><td><a href=" << quoted_url(l.npy) << ">npy</a> <a href=" << quoted_url(l.json)
      << ">json</a></td><td class=\"top\">";
    for (const std::string& png : l.preview) h << "<img src=" << quoted_url(png) << " alt=\"\">";
    h << "</td></tr>\n";
  }
  return h.str() + "</table>\n</body>\n</html>\n";
}

}  // namespace acts
