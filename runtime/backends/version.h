// What --version prints: the project version, the git commit it was built from, the CPU
// backend's libraries and threads, and the CUDA runtime, driver and cuDNN versions found at run
// time (or why there is no GPU).
#pragma once
#include <string>

namespace acts {
std::string version_text(const std::string& app);
}
