// Checkpoints: parameters, RMSprop state and run metadata in one safetensors file, readable by
// numpy users (safetensors.numpy.load_file, or the 8-byte header length + JSON header + raw
// little-endian float32). Tensors are named "conv2d_1/kernel" (Keras layout) and
// "optimizer/conv2d_1/kernel". The header's __metadata__ carries the format version, the Keras
// model JSON, a CRC-32 of the data section and free-form run metadata. Written atomically.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph.h"

namespace acts {

constexpr int kCheckpointVersion = 1;

struct Checkpoint {
  ModelSpec model;                          // the architecture the tensors belong to
  std::vector<float> params, opt_state;     // Graph(model).params() layout
  std::map<std::string, std::string> meta;  // epoch, step, seed, data, classes, image_size, ...
};

void save_checkpoint(const std::string& path, const Checkpoint& c);
// Throws acts::Error naming the file for a missing, truncated, damaged or foreign file.
Checkpoint load_checkpoint(const std::string& path);
// load_checkpoint on the file's bytes already in memory; `path` names it in error messages.
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path);
// Throws unless the checkpoint's architecture is exactly g's (layer types, shapes, names).
void check_same_architecture(const Checkpoint& c, const Graph& g, const std::string& path);

}  // namespace acts
