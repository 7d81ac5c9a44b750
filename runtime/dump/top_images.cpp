#include "top_images.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "painter.h"
#include "runtime/core/atomic_file.h"
#include "runtime/core/npy.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "top_pages.h"

namespace acts {

namespace {

namespace fs = std::filesystem;

bool better(const TopHit& a, const TopHit& b) { return a.value > b.value || (a.value == b.value && a.image < b.image); }

}  // namespace

void TopN::add(const float* peak, const int* where, int images, size_t first, int width) {
  const int c_count = channels();
  for (int c = 0; c < c_count; ++c) {
    std::vector<TopHit>& h = hits_[size_t(c)];
    for (int i = 0; i < images; ++i) {
      const size_t at = size_t(i) * size_t(c_count) + size_t(c);
      h.push_back({peak[at], first + size_t(i), where[at] / width, where[at] % width});
    }
    const size_t keep = std::min(n_, h.size());
    std::partial_sort(h.begin(), h.begin() + long(keep), h.end(), better);
    h.resize(keep);
  }
}

std::vector<const Node*> conv_layers(const Graph& g) {
  std::vector<const Node*> layers;
  for (const Node& nd : g.nodes())
    if (nd.kernel >= 0 && nd.out_shape.size() == 3) layers.push_back(&nd);
  return layers;
}

std::vector<TopN> find_top_images(Backend& be, const Inputs& in, float scale, const std::vector<const Node*>& layers,
                                  int n, const std::function<void(size_t)>& between_batches) {
  std::vector<TopN> tops;
  const Node* deepest = layers.front();
  for (const Node* nd : layers) {
    tops.emplace_back(nd->out_shape.back(), n);
    if (nd > deepest) deepest = nd;  // nodes live in one vector, in model order
  }
  std::vector<float> peak;
  std::vector<int> where;
  const size_t batch = size_t(be.options().max_batch);
  for (size_t first = 0; first < in.size(); first += batch) {
    if (between_batches) between_batches(first);
    Batch b;
    b.n = int(std::min(in.size() - first, batch));
    b.images = in.image(first);  // uint8; the backend rescales on its device
    b.scale = scale;
    be.forward_to(b, deepest->spec.name);
    for (size_t l = 0; l < layers.size(); ++l) {
      be.channel_peaks(layers[l]->spec.name, peak, where);
      const std::vector<int>& s = layers[l]->out_shape;
      tops[l].add(peak.data(), where.data(), b.n, first, s.size() == 3 ? s[1] : 1);
    }
  }
  if (between_batches) between_batches(in.size());
  return tops;
}

namespace {

std::string field_text(const ReceptiveField& f) {
  return f.whole ? std::string("the whole image") : std::to_string(f.size) + " x " + std::to_string(f.size) + " pixels";
}

nlohmann::json field_json(const ReceptiveField& f) {
  if (f.whole) return {{"whole", true}};
  return {{"whole", false}, {"size", f.size}, {"jump", f.jump}, {"start", {f.start_y, f.start_x}}};
}

std::string crop_name(const std::string& layer, int c, size_t rank) {
  return "top_" + layer + "/c" + std::to_string(c) + "_" + std::to_string(rank + 1) + ".png";
}

// The hits of one layer as NPY and JSON (the numbers for people who want their own plots).
void write_layer_numbers(const TopOutput& o, const Node& nd, const TopN& top, const ReceptiveField& f) {
  const std::string& name = nd.spec.name;
  const size_t n = top.channels() > 0 ? top.channel(0).size() : 0;
  std::vector<float> values(size_t(top.channels()) * n);
  nlohmann::json channels = nlohmann::json::array();
  for (int c = 0; c < top.channels(); ++c) {
    nlohmann::json hits = nlohmann::json::array();
    for (size_t r = 0; r < top.channel(c).size(); ++r) {
      const TopHit& h = top.channel(c)[r];
      values[size_t(c) * n + r] = h.value;
      const PixelBox b = field_box(f, h.y, h.x, o.in->height, o.in->width);
      hits.push_back({{"row", h.image}, {"image", o.in->sources[h.image]}, {"value", h.value}, {"y", h.y}, {"x", h.x},
                      {"box", {b.top, b.left, b.bottom, b.right}}});
    }
    channels.push_back(std::move(hits));
  }
  write_npy(o.out + "/top_" + name + ".npy", values.data(), {size_t(top.channels()), n});
  const nlohmann::json j = {{"model", o.model},
                            {"data", o.data},
                            {"layer", name},
                            {"shape", nd.out_shape},
                            {"top", n},
                            {"input", {o.in->height, o.in->width}},
                            {"receptive_field", field_json(f)},
                            {"channels", std::move(channels)}};
  write_file_atomic(o.out + "/top_" + name + ".json", j.dump(1) + "\n");
}

// top_LAYER/ with every crop, and the layer's grid page; `marks` gathers each photo's boxes.
void draw_layer(const TopOutput& o, const Node& nd, const TopN& top, const ReceptiveField& f,
                std::map<size_t, std::vector<TopMark>>& marks) {
  const std::string& name = nd.spec.name;
  fs::create_directories(o.out + "/top_" + name);
  cpu_fast::parallel_for(top.channels(), [&](int c, int) {
    for (size_t r = 0; r < top.channel(c).size(); ++r) {
      const TopHit& h = top.channel(c)[r];
      o.painter->crop(o.out + "/" + crop_name(name, c, r), o.in->image(h.image), o.in->height, o.in->width,
                      field_box(f, h.y, h.x, o.in->height, o.in->width));
    }
  });
  TopLayerPage p;
  p.layer = name;
  p.shape = keras_shape(nd.out_shape);
  p.field = field_text(f);
  p.npy = "top_" + name + ".npy";
  p.json = "top_" + name + ".json";
  for (int c = 0; c < top.channels(); ++c) {
    std::vector<TopCell> row;
    for (size_t r = 0; r < top.channel(c).size(); ++r) {
      const TopHit& h = top.channel(c)[r];
      const std::string id = name + "-c" + std::to_string(c) + "-" + std::to_string(r + 1);
      row.push_back({crop_name(name, c, r), "top_images/" + o.in->stems[h.image] + ".html", id,
                     o.in->sources[h.image], h.value});
      char label[300];
      std::snprintf(label, sizeof label, "%s channel %d: #%zu, peak %.4g at (%d, %d)", name.c_str(), c, r + 1,
                    double(h.value), h.y, h.x);
      marks[h.image].push_back({id, label, field_box(f, h.y, h.x, o.in->height, o.in->width)});
    }
    p.channels.push_back(std::move(row));
  }
  write_file_atomic(o.out + "/top_" + name + ".html", top_layer_page_html(p));
}

// top_images/: each photo that tops a channel, as the model sees it, with its boxes.
void draw_photos(const TopOutput& o, const std::map<size_t, std::vector<TopMark>>& marks) {
  fs::create_directories(o.out + "/top_images");
  const std::vector<std::pair<size_t, std::vector<TopMark>>> list(marks.begin(), marks.end());
  cpu_fast::parallel_for(int(list.size()), [&](int k, int) {
    const size_t i = list[size_t(k)].first;
    const std::string& stem = o.in->stems[i];
    o.painter->input(o.out + "/top_images/" + stem + ".png", o.in->image(i), o.in->height, o.in->width);
    TopImagePage p;
    p.source = o.in->sources[i];
    p.png = stem + ".png";
    p.height = o.in->height;
    p.width = o.in->width;
    p.marks = list[size_t(k)].second;
    write_file_atomic(o.out + "/top_images/" + stem + ".html", top_image_page_html(p));
  });
}

}  // namespace

void write_top_images(const TopOutput& o) {
  std::string list;
  for (const std::string& s : o.in->sources) list += s + "\n";
  write_file_atomic(o.out + "/images.txt", list);
  TopIndexPage index;
  index.model = o.model;
  index.data = o.data;
  index.images = o.in->size();
  index.top = o.tops->empty() || o.tops->front().channels() == 0 ? 0 : int(o.tops->front().channel(0).size());
  std::map<size_t, std::vector<TopMark>> marks;
  for (size_t l = 0; l < o.layers.size(); ++l) {
    const Node& nd = *o.layers[l];
    const TopN& top = (*o.tops)[l];
    const ReceptiveField f = receptive_field(*o.graph, size_t(&nd - o.graph->nodes().data()));
    write_layer_numbers(o, nd, top, f);
    const std::string base = "top_" + nd.spec.name;
    TopIndexLayer entry{nd.spec.name, keras_shape(nd.out_shape), field_text(f), o.painter ? base + ".html" : "",
                        base + ".npy", base + ".json", top.channels(), {}};
    for (int ch = 0; ch < std::min(top.channels(), 8) && o.painter; ++ch)
      if (!top.channel(ch).empty()) entry.preview.push_back(crop_name(nd.spec.name, ch, 0));
    index.layers.push_back(std::move(entry));
    if (o.painter) draw_layer(o, nd, top, f, marks);
  }
  if (!o.painter) return;
  draw_photos(o, marks);
  write_file_atomic(o.out + "/index.html", top_index_html(index));
}

}  // namespace acts
