// Fuzz target: a safetensors checkpoint in memory (parse_checkpoint): the 8-byte header length,
// the JSON header, its __metadata__ (version, model JSON, CRC-32) and the tensor offsets.
// acts::Error is the expected answer to bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/core/checkpoint.h"
#include "runtime/core/errors.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const acts::Checkpoint c = acts::parse_checkpoint(bytes, "fuzz.safetensors");
    const acts::Graph g(c.model);
    FUZZ_CHECK(c.params.size() == g.param_count());
    // RMSprop: one accumulator per parameter; Adam: m and v (meta "optimizer")
    FUZZ_CHECK(c.opt_state.empty() || c.opt_state.size() == g.param_count() ||
               (c.meta.count("optimizer") && c.meta.at("optimizer") == "adam" &&
                c.opt_state.size() == 2 * g.param_count()));
  } catch (const acts::Error&) {
  }
  return 0;
}
