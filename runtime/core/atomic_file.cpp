#include "runtime/core/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/core/errors.h"
#include "runtime/core/regular_file.h"
#include "runtime/core/stop_request.h"

namespace acts {

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + ".tmp." + std::to_string(getpid())) {
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) fail(path, ": cannot write (", std::strerror(errno), "); check that the folder exists and is writable");
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t bytes) {
  if (bytes && std::fwrite(data, 1, bytes, f_) != bytes)
    fail(path_, ": write failed (", std::strerror(errno), "); is the disk full?");
}

void AtomicFile::commit() {
  if (std::fflush(f_) != 0 || fsync(fileno(f_)) != 0)
    fail(path_, ": write failed (", std::strerror(errno), "); is the disk full?");
  std::fclose(f_);
  f_ = nullptr;
  // The crash tests' hook: ACTS_PAUSE_AT="rename NAME:N" holds the N-th rename of a file NAME
  // here, the new contents complete but not yet in place (stop_request.h).
  pause_point(("rename " + path_.substr(path_.rfind('/') + 1)).c_str());
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp_.c_str());
    fail(path_, ": cannot replace the file (", std::strerror(e), ")");
  }
  // Make the rename itself durable.
  std::string dir = path_.find('/') == std::string::npos ? "." : path_.substr(0, path_.rfind('/'));
  if (dir.empty()) dir = "/";
  const int fd = open(dir.c_str(), O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

size_t remove_stale_temporaries(const std::string& dir) {
  size_t removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 == name.size()) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    // kill(pid, 0): ESRCH means no such process; anything else (alive, or not ours) is left alone.
    if (kill(pid_t(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;
    std::error_code e2;
    if (it->is_regular_file(e2) && std::filesystem::remove(it->path(), e2)) ++removed;
  }
  return removed;
}

std::string read_file(const std::string& path, const std::string& fix) {
  std::string bytes, why;
  if (!read_regular_file(path, bytes, why))
    fail(path, ": ", why, fix.empty() || special_file_kind(path).empty() ? "" : "; " + fix);
  return bytes;
}

}  // namespace acts
