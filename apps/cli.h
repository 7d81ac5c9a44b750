// What the apps' command lines share: the --device and --version options, number checks, and
// CLI11 parsing with the project's exit codes (0 after --help, 2 for a bad command line).
#pragma once
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "runtime/backends/version.h"

namespace acts::cli {

// Numbers on the command line. CLI11's PositiveNumber lets "nan" through and prints its range as
// "0.000000 to 179769313486231570814527...": these say what is wanted in a few words.

// A whole number from `lo` to `hi`; --help shows the range when `hi` is given
// (INT:8..4096), else POSITIVE or NONNEGATIVE.
inline CLI::Validator whole_number(long long lo, long long hi = 2147483647) {
  const std::string want = "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, want](std::string& s) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi) return "'" + s + "' is not " + want;
        return "";
      },
      hi != 2147483647 ? std::to_string(lo) + ".." + std::to_string(hi) : lo > 0 ? "POSITIVE" : "NONNEGATIVE");
}

// A number above 0 that stays finite and non-zero as a float (a learning rate).
inline CLI::Validator positive_float() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        const float f = float(v);
        if (s.empty() || *end != '\0' || !(v > 0) || !std::isfinite(f) || !(f > 0))
          return "'" + s + "' is not a positive number (e.g. 1e-4) that fits a float";
        return "";
      },
      "POSITIVE");
}

// The input rescale: a positive number or a fraction, "1/255" (what Keras code writes), stored
// as the number it is.
inline CLI::Validator rescale_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const size_t slash = s.find('/');
        char* end = nullptr;
        double v = std::strtod(s.c_str(), &end);
        if (slash != std::string::npos && end == s.c_str() + slash) {
          char* end2 = nullptr;
          const double d = std::strtod(s.c_str() + slash + 1, &end2);
          v = *end2 == '\0' && end2 != s.c_str() + slash + 1 ? v / d : NAN;
          end = end2;
        }
        if (s.empty() || *end != '\0' || !(v > 0) || !std::isfinite(float(v)) || !(float(v) > 0))
          return "'" + s + "' is not a positive number or fraction (e.g. 1/255)";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", v);
        s = buf;
        return "";
      },
      "NUMBER|A/B");
}

inline CLI::Option* add_device(CLI::App& app, std::string& device, const char* what) {
  return app.add_option("--device", device, what)->default_val("auto")->check(CLI::IsMember({"auto", "cuda", "cpu"}));
}

inline CLI::Option* add_version(CLI::App& app, bool& version) {
  return app.add_flag("--version", version, "Print versions (project, commit, CUDA, cuDNN, GPU) and exit");
}

// Parses argv. Returns -1 when the program should go on, else the exit code for main():
// 0 after --help, 2 for unknown flags or bad values, with one line "error: <CLI11's message>;
// see --help" (CLI11's own words for an option given twice, "At Most 1 required but received
// 2", are said plainly).
inline int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    const std::string at_most = ": At Most 1 required but received ";
    if (const size_t at = msg.find(at_most); at != std::string::npos)
      msg = msg.substr(0, at) + " was given " + msg.substr(at + at_most.size()) + " times; give it once";
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    std::fprintf(stderr, "error: %s; see --help\n", msg.c_str());
    return 2;
  }
  return -1;
}

inline int print_version(const char* app) {
  std::printf("%s", version_text(app).c_str());
  return 0;
}

}  // namespace acts::cli
