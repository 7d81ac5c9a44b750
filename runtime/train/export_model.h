// train_gpu --export: any model this project reads (a checkpoint, a run folder, a Keras file),
// written as a Keras file that Keras' load_model opens.
#pragma once
#include <string>

namespace acts {

// `model`: a .safetensors file, a run folder (its final.safetensors, else last.safetensors;
// "" = runs/latest) or a Keras file (`config`: the architecture of a weights-only one). `out`
// ends in .keras, .h5 or .weights.h5. Returns what was read, for the app's line. Throws
// acts::Error before writing anything when the source or the name is bad (acts::BadFile, exit
// 2 in train_gpu, for a bad name or a Keras file that cannot be used).
std::string export_model(const std::string& model, const std::string& config, const std::string& out);

}  // namespace acts
