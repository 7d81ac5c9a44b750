// Checkpoints: parameters, optimizer state and run metadata in one safetensors file, readable by
// numpy users (safetensors.numpy.load_file, or the 8-byte header length + JSON header + raw
// little-endian float32). Tensors are named "conv2d_1/kernel" (Keras layout) and, by the
// metadata's "optimizer", "optimizer/conv2d_1/kernel" (rmsprop, or none: RMSprop's accumulator)
// or "optimizer/m/conv2d_1/kernel" and "optimizer/v/conv2d_1/kernel" (adam). The header's __metadata__ carries the format version, the Keras
// model JSON, a CRC-32 and free-form run metadata. Written atomically.
// Version 2 (written since issue 17): the CRC-32 covers the header (tensor table and metadata,
// as canonical JSON without the crc32 field itself) and then the data section, so an edited
// epoch or model is refused like a flipped tensor byte. Version 1 files are still read; their
// CRC covers the tensor data only (their metadata is not protected).
#pragma once
#include <map>
#include <limits>
#include <string>
#include <vector>

#include "runtime/core/graph.h"

namespace acts {

constexpr int kCheckpointVersion = 2;

struct Checkpoint {
  ModelSpec model;                          // the architecture the tensors belong to
  std::vector<float> params;                // Graph(model).params() layout
  std::vector<float> opt_state;             // that layout once per optimizer slot (meta "optimizer"), or empty
  std::map<std::string, std::string> meta;  // epoch, step, seed, data, classes, image_size, optimizer,
                                            // optimizer_iterations, ...
};

void save_checkpoint(const std::string& path, const Checkpoint& c);
// Throws acts::Error naming the file for a missing, truncated, damaged or foreign file.
Checkpoint load_checkpoint(const std::string& path);
// A whole number of the run metadata (resuming): throws acts::Error naming the file and the field
// when it is missing, not a whole number, or outside [lo, hi].
long long meta_int(const Checkpoint& c, const std::string& key, const std::string& path, long long lo, long long hi);
// A field of the run metadata (resuming): throws acts::Error naming the file and the field when
// it is missing.
const std::string& meta_text(const Checkpoint& c, const std::string& key, const std::string& path);
// A finite number of the run metadata in [lo, hi], as meta_int.
double meta_real(const Checkpoint& c, const std::string& key, const std::string& path,
                 double lo = std::numeric_limits<double>::lowest(), double hi = std::numeric_limits<double>::max());
// load_checkpoint on the file's bytes already in memory; `path` names it in error messages.
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path);
// Throws unless the checkpoint's architecture is exactly g's (layer types, shapes, names).
void check_same_architecture(const Checkpoint& c, const Graph& g, const std::string& path);

}  // namespace acts
