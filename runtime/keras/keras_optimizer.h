// A Keras file's optimizer state mapped onto train_gpu's RMSprop or Adam (runtime/keras only).
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
  std::vector<std::string> names; // their HDF5 weight names where the file has them (Keras 2, tf.keras)
};

// Sets m.optimizer, m.opt_note and (when it maps) m.ckpt.opt_state with m.ckpt.meta["optimizer"]
// ("rmsprop" or "adam") and ["optimizer_iterations"]. The state is imported from
//  - a plain RMSprop (no momentum, not centered) whose tensors other than scalars are one
//    accumulator per parameter tensor, in the model's order and shapes: the moving average of g^2,
//    the same quantity in Keras 2, tf.keras, Keras 3 and here;
//  - an Adam without amsgrad whose tensors other than scalars are an m and a v per parameter tensor:
//    Keras 3 interleaves them (momentum, velocity per variable), tf.keras names them .../m and .../v,
//    Keras 2 keeps [iterations] + all m + all v. Its first scalar, when whole, is Keras' iterations
//    (the bias correction's step count).
// Anything else starts fresh, said.
void import_optimizer(const OptimizerSource& src, const Graph& g, KerasModel& m);

}  // namespace acts
