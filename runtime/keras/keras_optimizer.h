// A Keras file's optimizer state mapped onto train_gpu's RMSprop (runtime/keras only).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/graph.h"
#include "runtime/keras/hdf5_file.h"
#include "runtime/keras/keras_file.h"

namespace acts {

struct OptimizerSource {
  nlohmann::json config;         // {"class_name": "RMSprop", "config": {...}} where the file has one
  std::string name;              // Keras 3's optimizer/vars @name ("rm_sprop") where present
  std::vector<H5Tensor> tensors; // the file's optimizer tensors in its order, scalars included
};

// Sets m.optimizer, m.opt_note and (when it maps) m.ckpt.opt_state. The state is imported only
// from a plain RMSprop (no momentum, not centered) whose tensors other than scalars are one
// accumulator per parameter tensor, in the model's order and shapes: the moving average of g^2,
// the same quantity in Keras 2, tf.keras, Keras 3 and here. Anything else starts fresh, said.
void import_optimizer(const OptimizerSource& src, const Graph& g, KerasModel& m);

}  // namespace acts
