// What the apps' command lines share: the --device and --version options, and CLI11 parsing
// with the project's exit codes (0 after --help, 2 for a bad command line).
#pragma once
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "runtime/version.h"

namespace acts::cli {

inline CLI::Option* add_device(CLI::App& app, std::string& device, const char* what) {
  return app.add_option("--device", device, what)->default_val("auto")->check(CLI::IsMember({"auto", "cuda", "cpu"}));
}

inline CLI::Option* add_version(CLI::App& app, bool& version) {
  return app.add_flag("--version", version, "Print versions (project, commit, CUDA, cuDNN, GPU) and exit");
}

// Parses argv. Returns -1 when the program should go on, else the exit code for main():
// 0 after --help, 2 (with CLI11's message) for unknown flags or bad values.
inline int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return -1;
}

inline int print_version(const char* app) {
  std::printf("%s", version_text(app).c_str());
  return 0;
}

}  // namespace acts::cli
