// One exception type for every user-facing failure: the message is a single line that names the
// file/layer at fault and, where there is one, the fix. Apps print it and exit non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace acts {

struct Error : std::runtime_error {
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// A model file that cannot be used as it is (not the format, damaged, a layer or shape this
// project does not run): the apps exit with 2 for it, as for a bad flag.
struct BadFile : Error {
  using Error::Error;
};

// A request that cannot be answered as asked (a dense layer for a heatmap, a class or channel
// that does not exist): a usage error, exit 2 in the apps, as for a bad flag.
struct BadRequest : Error {
  using Error::Error;
};

// Builds a message from streamable pieces: fail("layer ", name, " has ", n, " units").
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw Error(os.str());
}

}  // namespace acts
