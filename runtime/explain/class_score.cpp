// Class scores; see class_score.h.
#include "runtime/explain/class_score.h"

namespace acts {
namespace {

bool sigmoid_head(const Graph& g) {
  const Node& head = g.nodes().back();
  return head.out_size == 1 && head.spec.activation == Act::Sigmoid;
}

}  // namespace

int class_count(const Graph& g) { return sigmoid_head(g) ? 2 : int(g.nodes().back().out_size); }

bool opposite_class_scores(const Graph& g) { return sigmoid_head(g); }

Objective class_score(const Graph& g, const std::vector<int>& classes) {
  const int count = class_count(g);
  Objective o;
  o.layer = g.nodes().back().spec.name;
  o.kind = Objective::Kind::kElement;
  o.pre_activation = true;  // the logit: a sigmoid's or softmax's gradient vanishes as it saturates
  for (int c : classes) {
    if (c < 0 || c >= count)
      throw BadRequest("class " + std::to_string(c) + " does not exist: the model tells " + std::to_string(count) +
                       " classes apart (0 to " + std::to_string(count - 1) + ")");
    o.target.push_back(sigmoid_head(g) ? 0 : c);
    o.weight.push_back(sigmoid_head(g) && c == 0 ? -1.f : 1.f);
  }
  return o;
}

std::vector<float> class_score_values(const Graph& g, const std::vector<float>& head_logits, int n, int cls) {
  const size_t units = g.nodes().back().out_size;
  if (head_logits.size() != size_t(n) * units)
    fail("class_score_values(): ", head_logits.size(), " values for ", n, " images of ", units, " outputs");
  std::vector<float> s(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    if (sigmoid_head(g))
      s[size_t(i)] = cls == 1 ? head_logits[size_t(i)] : -head_logits[size_t(i)];
    else
      s[size_t(i)] = head_logits[size_t(i) * units + size_t(cls)];
  }
  return s;
}

}  // namespace acts
