#include "run_dir.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <unistd.h>

#include "runtime/errors.h"

namespace acts {
namespace fs = std::filesystem;

bool is_dir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string default_run_dir(const std::string& parent) {
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  std::string dir = parent + "/" + stamp;
  for (int i = 2; exists(dir); ++i) dir = parent + "/" + stamp + "-" + std::to_string(i);
  return dir;
}

namespace {

// True when `dir` holds run.json and nothing else: a run that stopped before its first checkpoint
// (bad data, a model that does not fit the image size, a loss that diverged at once). It has
// nothing to continue or to lose, so starting a run there again needs no --force.
bool only_run_marker(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (++n > 1 || it->path().filename() != kRunMarker) return false;
  return !ec && n == 1;
}

}  // namespace

std::string prepare_run_dir(const std::string& out, bool force) {
  std::error_code ec;
  if (exists(out)) {
    if (!is_dir(out)) fail(out, ": exists and is not a folder; choose another --out");
    const bool empty = fs::is_empty(out, ec) || only_run_marker(out);
    if (!empty && !force) {
      if (exists(out + "/" + kRunMarker))
        fail(out, ": holds an earlier run; continue it with --resume ", out, ", or overwrite it with --force");
      fail(out, ": exists, is not empty and is not a run folder; choose another --out");
    }
  } else {
    fs::create_directories(out, ec);
    if (ec) fail(out, ": cannot create the output folder (", ec.message(), "); choose another --out");
  }
  if (access(out.c_str(), W_OK) != 0)
    fail(out, ": output folder is not writable (", std::strerror(errno), "); choose another --out");
  return out;
}

void mark_latest(const std::string& run) {
  const fs::path p = fs::absolute(run).lexically_normal();
  const fs::path link = p.parent_path() / "latest", tmp = p.parent_path() / ".latest.tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_directory_symlink(p.filename(), tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);  // rename over the old link: readers never see it missing
}

std::string resolve_run_dir(const std::string& dir) {
  const std::string d = dir.empty() ? "runs/latest" : dir;
  if (!is_dir(d)) fail(d, ": no such run folder; give the folder of the run to continue (--resume DIR)");
  if (!exists(d + "/" + kRunMarker)) fail(d, ": is not a run folder of train_gpu (no ", kRunMarker, ")");
  std::error_code ec;
  const fs::path real = fs::canonical(d, ec);
  return ec ? d : real.string();
}

}  // namespace acts
