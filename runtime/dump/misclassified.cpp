// The photos of a split the model gets wrong (dump_acts --misclassified); see misclassified.h.
#include "misclassified.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "runtime/core/errors.h"
#include "runtime/dump/prediction.h"

namespace acts {

std::string split_folder(const char* flag, const std::string& split, const std::map<std::string, std::string>& meta,
                         const std::string& ckpt) {
  if (split != "test" && split != "validation" && split != "train") return split;
  const auto d = meta.find("data");
  if (d == meta.end())
    throw BadRequest(std::string(flag) + " " + split + ": " + ckpt +
                     " does not say which data it was trained on; pass a folder with one sub-folder per class");
  return d->second + "/" + split;
}

Inputs select_misclassified(Backend& be, const Dataset& d, float scale, const std::vector<std::string>& classes,
                            Misclassified& m) {
  m.folder = d.root;
  m.total = d.size();
  if (d.classes.size() == 2 && classes.size() == 2 && d.classes != classes)
    std::fprintf(stderr, "warning: %s: class folders %s, %s taken as the model's %s, %s (Keras' sorted order)\n",
                 d.root.c_str(), d.classes[0].c_str(), d.classes[1].c_str(), classes[0].c_str(), classes[1].c_str());
  Inputs in;
  in.height = d.height;
  in.width = d.width;
  const size_t px = size_t(d.height) * d.width * 3, batch = size_t(be.options().max_batch);
  for (size_t first = 0; first < d.size(); first += batch) {
    Batch b;
    b.n = int(std::min(d.size() - first, batch));
    b.images = d.image(first);
    b.scale = scale;
    be.forward(b, false);
    const std::vector<float> p = be.predictions();  // (b.n, units): the head's sigmoid/softmax outputs
    const size_t units = p.size() / size_t(b.n);
    for (int j = 0; j < b.n; ++j) {
      const size_t i = first + size_t(j);
      const int truth = int(d.labels[i]), said = predicted_class(be.graph(), &p[size_t(j) * units]);
      if (truth == said) continue;
      const std::string file = d.files.empty() ? "" : d.root + "/" + d.files[i];
      in.files.push_back(file);
      in.sources.push_back(file.empty() ? d.root + "/x.npy[" + std::to_string(i) + "]" : file);
      in.stems.push_back(file.empty() ? "x_" + std::to_string(i) : std::filesystem::path(file).stem().string());
      in.pixels.insert(in.pixels.end(), d.image(i), d.image(i) + px);
      m.truth.push_back(classes[size_t(truth)]);
      m.predicted.push_back(prediction_text(be.graph(), &p[size_t(j) * units], classes));
    }
  }
  make_stems_unique(in.stems);
  std::printf("Misclassified: %zu of the %zu photos of %s\n", in.size(), d.size(), d.root.c_str());
  return in;
}

}  // namespace acts
