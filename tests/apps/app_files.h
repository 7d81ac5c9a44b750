// What the app tests read back from a run, and the scratch folders they run in.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

// The train_gpu tests train on data/sample's JPEGs, which a build without OpenCV cannot decode
// (such a build takes its data as .npy only): there they skip, saying so.
#ifdef ACTS_WITH_OPENCV
#define SKIP_WITHOUT_PHOTO_DECODING() \
  do {                                \
  } while (0)
#else
#define SKIP_WITHOUT_PHOTO_DECODING() \
  GTEST_SKIP() << "built without OpenCV: train_gpu cannot decode the sample photos (rebuild with -DACTS_WITH_OPENCV=ON)"
#endif

namespace acts::testing {

// A scratch root per test process, e.g. /tmp/acts_train_test_<pid>, removed at exit.
class ScratchDirs {
 public:
  explicit ScratchDirs(const std::string& prefix)
      : root_(std::filesystem::temp_directory_path() / (prefix + std::to_string(getpid()))) {}
  ~ScratchDirs() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  // root/name, not there yet (whatever an earlier test left there is removed); its parent exists.
  std::string fresh(const std::string& name) const {
    const std::filesystem::path d = root_ / name;
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d.parent_path());
    return d.string();
  }

 private:
  std::filesystem::path root_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// history.csv without its timing column: what must match between two runs.
inline std::string history_without_seconds(const std::string& run_dir) {
  std::istringstream in(read_file(run_dir + "/history.csv"));
  std::string line, out;
  while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

// Whether nothing under `dir` is a temporary ("<name>.tmp.<pid>") that a writer left behind.
inline bool no_temporary_files(const std::string& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) return false;
  return true;
}

// How many lines of `out` start with "error: " (a refusal must print exactly one).
inline int error_lines(const std::string& out) {
  int n = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) n += line.rfind("error: ", 0) == 0;
  return n;
}

}  // namespace acts::testing
