// Keras' own model files, in and out: Keras 2 HDF5 full-model files (model.save('x.h5'): the
// book's and tf.keras' format, also what Keras 3 writes for .h5), Keras 3 .keras archives (zip:
// config.json, metadata.json, model.weights.h5), and weights-only files (Keras 2 save_weights
// .h5, Keras 3 .weights.h5) with the architecture from a model JSON. Read into a Checkpoint, the
// project's in-memory model (architecture, parameters in Graph order, RMSprop state), so every
// tool that takes a checkpoint takes a Keras file.
//
// What a Keras file does not say (the input rescale, the class names) is the caller's: flags
// with stated defaults (docs/keras-files.md).
#pragma once
#include <string>

#include "runtime/core/checkpoint.h"

namespace acts {

struct KerasReadOptions {
  // The architecture of a weights-only file: a Keras model JSON (model.to_json()). Full-model
  // files carry their own and must not be given one.
  std::string config_json;
};

struct KerasModel {
  Checkpoint ckpt;         // model and params always; opt_state empty unless imported
  std::string format;      // "Keras 2 HDF5 (keras 2.0.8)", "Keras 3 .keras (keras 3.15.1)", ...
  std::string optimizer;   // the file's optimizer class ("RMSprop", "Adam"), "" when it names none
  std::string opt_note;    // one line: what happened to the optimizer state, and why
  std::string loss;        // the compiled loss's Keras name ("sparse_categorical_crossentropy"), "" when none
  std::string loss_args;   // its arguments train_gpu does not take ("from_logits=True"), "" when none
};

// True for files whose first bytes are HDF5's or zip's signature (what this module reads);
// false for anything else, a safetensors checkpoint or a JSON file included.
bool is_keras_model_file(const std::string& path);

// Throws acts::Error (one line naming the file and the fix) for a file that is not HDF5/zip, is
// truncated or damaged, holds a layer this project does not run (named, with the list of those
// it runs), weights of the wrong shape or count, or a model that is not a Sequential one.
KerasModel load_keras_model(const std::string& path, const KerasReadOptions& options = {});

// Writes `c` as a Keras file, by the extension of `path`: ".keras" (Keras 3 archive) or ".h5"
// (Keras 2 HDF5 full-model file, which Keras 2 and 3 load). Atomic: readers see the old file or
// the whole new one. The optimizer state is not written (the model loads uncompiled; compile it
// in Keras to train on there).
void save_keras_model(const std::string& path, const Checkpoint& c);

// Whether this build reads and writes Keras files (HDF5 and libzip found at build time), and if
// not, the line saying what to install.
bool keras_files_supported();
std::string keras_files_missing();

}  // namespace acts
