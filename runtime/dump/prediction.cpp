// Predictions as text; see prediction.h.
#include "runtime/dump/prediction.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "runtime/core/errors.h"
#include "runtime/core/head.h"

namespace acts {

namespace {

std::string number(float v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

int predicted_class(const Graph& g, const float* out) {
  if (head_kind(g) == HeadKind::kSigmoid) return out[0] > 0.5f ? 1 : 0;
  const int units = g.nodes().back().spec.units;
  return int(std::max_element(out, out + units) - out);  // the first maximum, as np.argmax
}

std::string prediction_text(const Graph& g, const float* out, const std::vector<std::string>& classes) {
  if (head_kind(g) == HeadKind::kSigmoid)
    return "P(" + classes[1] + ") = " + number(out[0]) + ": " + classes[size_t(predicted_class(g, out))];
  const size_t units = size_t(g.nodes().back().spec.units), top = std::min<size_t>(3, units);
  std::vector<size_t> order(units);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return out[a] > out[b]; });
  std::string s;
  for (size_t k = 0; k < top; ++k) s += (k ? ", " : "") + classes[order[k]] + " " + number(out[order[k]]);
  return s;
}

std::vector<std::string> class_names_of(const Graph& g, const std::map<std::string, std::string>& meta,
                                        const std::vector<std::string>& flag) {
  const size_t count = size_t(head_classes(g));
  if (flag.size() == count) return flag;
  if (!flag.empty()) {
    if (count == 2)
      throw BadRequest("--classes: give two names, class 0's then class 1's (e.g. --classes cats,dogs), not " +
                       std::to_string(flag.size()));
    throw BadRequest("--classes: the model's head scores " + std::to_string(count) + " classes; give " +
                     std::to_string(count) + " names in class-index order, not " + std::to_string(flag.size()));
  }
  const auto it = meta.find("classes");
  if (it != meta.end()) {
    const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
    if (j.is_array() && j.size() == count &&
        std::all_of(j.begin(), j.end(), [](const nlohmann::json& v) { return v.is_string(); }))
      return j.get<std::vector<std::string>>();
  }
  std::vector<std::string> names;
  for (size_t k = 0; k < count; ++k) names.push_back("class " + std::to_string(k));
  return names;
}

}  // namespace acts
