// For the death tests of tests/keras: loads a Keras file in the (child) process and exits with 0
// when it is refused by an acts::BadFile that names the file and holds `word`, 1 otherwise (the
// message on stderr). The caller limits the child first (an alarm against a hang, an address-space
// limit against a runaway allocation).
#pragma once
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "runtime/core/errors.h"
#include "runtime/keras/keras_file.h"

namespace acts::test {

// The suffix of this test process's scratch folders, shared with its death-test children: gtest's
// threadsafe style re-runs the test body in a new process, which writes its files again and leaves
// by _Exit, without the static destructors that remove them. Named by the parent's pid (passed on
// in the environment), the child's files land in the parent's folder, which the parent removes.
inline std::string scratch_token() {
  if (const char* t = std::getenv("ACTS_TEST_SCRATCH_TOKEN")) return t;
  const std::string mine = std::to_string(getpid());
  setenv("ACTS_TEST_SCRATCH_TOKEN", mine.c_str(), 0);
  return mine;
}

[[noreturn]] inline void exit_refused(const std::string& path, const std::string& config, const std::string& word) {
  KerasReadOptions o;
  o.config_json = config;
  try {
    load_keras_model(path, o);
    std::fprintf(stderr, "loaded\n");
  } catch (const BadFile& e) {
    const std::string msg = e.what();
    std::fprintf(stderr, "%s\n", msg.c_str());
    std::_Exit(msg.find(path) != std::string::npos && msg.find(word) != std::string::npos ? 0 : 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "not acts::BadFile: %s\n", e.what());
  }
  std::_Exit(1);
}

}  // namespace acts::test
