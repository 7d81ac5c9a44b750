// Fuzz target: Keras model JSON -> ModelSpec (parse_keras_json), then the Graph the apps build
// from it, and the JSON round trip a checkpoint stores. acts::Error is the expected answer to bad
// input; any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/core/errors.h"
#include "fuzz_check.h"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  acts::ModelSpec spec;
  try {
    spec = acts::parse_keras_json(text, "fuzz.json");
  } catch (const acts::Error&) {
    return 0;
  }
  // What we write back must read back as the same model (checkpoints store it this way).
  const acts::ModelSpec again = acts::parse_keras_json(acts::to_keras_json(spec), "round trip");
  FUZZ_CHECK(again.layers.size() == spec.layers.size());
  FUZZ_CHECK(again.height == spec.height && again.width == spec.width && again.channels == spec.channels);
  try {
    const acts::Graph g(spec);
    FUZZ_CHECK(g.nodes().size() == spec.layers.size());
    (void)g.summary();
  } catch (const acts::Error&) {
  }
  return 0;
}
