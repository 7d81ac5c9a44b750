// What dump_acts says a model predicts, from the head's output (Backend::predictions()): for a
// sigmoid head Keras' predict_classes ("P(dogs) = 0.2710: dogs", class 1 above 0.5); for a
// softmax head the top classes with their probabilities, best first ("roses 0.8120, tulips
// 0.1010, daisy 0.0500": the top 3, or all of them when there are fewer; ties: the lower index).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "runtime/core/graph.h"

namespace acts {

// Image i's text from `out` (n, units): the head's activated output.
std::string prediction_text(const Graph& g, const float* out, const std::vector<std::string>& classes);
// The predicted class of one image's head output: argmax, or p > 0.5 for a sigmoid head.
int predicted_class(const Graph& g, const float* out);
// The classes' names: `flag` (--classes, one per class of the head), else the run's class folders
// when they are as many, else "class 0", "class 1", ... Throws BadRequest for a --classes of
// another length, naming how many the head has.
std::vector<std::string> class_names_of(const Graph& g, const std::map<std::string, std::string>& meta,
                                        const std::vector<std::string>& flag);

}  // namespace acts
