#include "export_model.h"

#include <filesystem>

#include "runtime/core/checkpoint.h"
#include "runtime/core/errors.h"
#include "runtime/keras/keras_file.h"

namespace acts {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A run folder's newest complete model: final.safetensors, else last.safetensors.
std::string checkpoint_of(const std::string& dir) {
  for (const char* f : {"final.safetensors", "last.safetensors"})
    if (fs::is_regular_file(dir + "/" + f)) return dir + "/" + f;
  fail(dir,
       ": has no final.safetensors or last.safetensors; pass --model a checkpoint or a run folder that has "
       "trained an epoch");
}

}  // namespace

std::string export_model(const std::string& model, const std::string& config, const std::string& out) {
  if (!ends_with(out, ".keras") && !ends_with(out, ".h5"))  // a bad flag value: BadFile exits 2 as for one
    throw BadFile("--export " + out + ": name the file .keras (Keras 3), .h5 (Keras 2 HDF5) or .weights.h5 (Keras 3 "
                  "weights)");
  if (!keras_files_supported()) fail("--export ", out, ": this build writes no Keras files: ", keras_files_missing());
  std::string src = model.empty() ? "runs/latest" : model;
  std::error_code ec;
  if (fs::is_directory(src, ec))
    src = checkpoint_of(src);
  else if (!fs::exists(src, ec))
    fail(src, ": no such checkpoint, run folder or Keras file",
         model.empty() ? "; train one first or pass --model" : "");
  std::string what = src;
  Checkpoint c;
  if (is_keras_model_file(src)) {
    KerasReadOptions o;
    o.config_json = config;
    KerasModel k = load_keras_model(src, o);
    what += " (" + k.format + ")";
    c = std::move(k.ckpt);
  } else {
    if (!config.empty()) fail("--config ", config, ": ", src, " has its own architecture; drop --config");
    c = load_checkpoint(src);
  }
  save_keras_model(out, c);
  return what;
}

}  // namespace acts
