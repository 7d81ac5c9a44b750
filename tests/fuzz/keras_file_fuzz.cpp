// Fuzz target: a Keras model file (load_keras_model): HDF5 full-model and weights files, and
// .keras zip archives with their config.json and model.weights.h5. HDF5 and libzip read files by
// name, so each input goes to one temporary file first (in TMPDIR). acts::BadFile is the expected
// answer to bad input; any other exception, a crash, or a model whose parameters do not fit its
// graph is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/keras/keras_file.h"
#include "fuzz_check.h"

namespace {

// The input's temporary file, named once per process (never freed: the exit handler that
// removes the file still reads it) and removed at exit.
const std::string& input_path() {
  static const std::string* path = [] {
    const char* dir = std::getenv("TMPDIR");
    auto* p = new std::string(std::string(dir && *dir ? dir : "/tmp") + "/acts_keras_fuzz_" + std::to_string(getpid()) +
                              ".keras");
    std::atexit([] { std::remove(input_path().c_str()); });
    return p;
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = input_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(data, 1, size, f) == size);
  FUZZ_CHECK(std::fclose(f) == 0);
  try {
    const acts::KerasModel m = acts::load_keras_model(path);
    const acts::Graph g(m.ckpt.model);
    FUZZ_CHECK(m.ckpt.params.size() == g.param_count());
    // RMSprop: one accumulator per parameter; Adam: m and v (meta "optimizer")
    FUZZ_CHECK(m.ckpt.opt_state.empty() || m.ckpt.opt_state.size() == g.param_count() ||
               (m.ckpt.meta.count("optimizer") && m.ckpt.meta.at("optimizer") == "adam" &&
                m.ckpt.opt_state.size() == 2 * g.param_count()));
    FUZZ_CHECK(!m.format.empty() && !m.opt_note.empty());
  } catch (const acts::BadFile&) {
  }
  return 0;
}
