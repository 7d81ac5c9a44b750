// Class scores as objectives for Backend::gradient(): what a heatmap of "class k" differentiates.
// A sigmoid head Dense(1, sigmoid) has one logit z = log(p / (1 - p)); class 1's score is z and
// class 0's is -z (the logit of 1 - p), so both classes get a heatmap and their gradients are each
// other's negatives. A softmax head Dense(N, softmax) scores class k by its pre-softmax output z_k
// (Grad-CAM's usual choice; Score-CAM weighs by it too, docs/heatmaps.md says why).
#pragma once
#include <string>
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/core/graph.h"

namespace acts {

// The number of classes the model's head tells apart: 2 for Dense(1, sigmoid), else its units.
int class_count(const Graph& g);
// True for a sigmoid head, whose two class scores are -z and z: class 0's gradient is exactly
// class 1's negated (the backward is linear in its seed and IEEE rounding is symmetric), so one
// gradient() serves both.
bool opposite_class_scores(const Graph& g);
// The objective "score of class classes[i]" for image i (pre-activation of the last layer).
// Throws BadRequest naming the class when it is out of range.
Objective class_score(const Graph& g, const std::vector<int>& classes);
// Class `cls`'s score per image, (n), from the head's outputs BEFORE its activation, (n, units):
// Backend::logits().
std::vector<float> class_score_values(const Graph& g, const std::vector<float>& head_logits, int n, int cls);

}  // namespace acts
