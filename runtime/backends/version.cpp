#include "runtime/backends/version.h"

#include "runtime/core/backend.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/core/errors.h"

#ifndef ACTS_VERSION
#define ACTS_VERSION "unknown"
#endif
#ifndef ACTS_GIT_COMMIT
#define ACTS_GIT_COMMIT "unknown"
#endif

namespace acts {

std::string version_text(const std::string& app) {
  std::string out = app + " " ACTS_VERSION " (commit " ACTS_GIT_COMMIT ")\n";
  std::string why, cpu;
  try {
    cpu = cpu_fast::available(&why) ? cpu_fast::describe() : "reference loops only (" + why + ")";
  } catch (const Error& e) {  // a bad ACTS_CPU_CONV: say so here too, --version still works
    cpu = e.what();
  }
  out += "CPU: " + cpu + "\n";
  return out + device_versions();
}

}  // namespace acts
