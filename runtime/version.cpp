#include "version.h"

#include "backend.h"

#ifndef ACTS_VERSION
#define ACTS_VERSION "unknown"
#endif
#ifndef ACTS_GIT_COMMIT
#define ACTS_GIT_COMMIT "unknown"
#endif

namespace acts {

std::string version_text(const std::string& app) {
  std::string out = app + " " ACTS_VERSION " (commit " ACTS_GIT_COMMIT ")\n";
  return out + device_versions();
}

}  // namespace acts
