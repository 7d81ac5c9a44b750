#include "runtime/core/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace acts {

namespace {

std::string kind_of(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "";
}

}  // namespace

std::string special_file_kind(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "";
  return kind_of(st.st_mode);
}

bool read_regular_file(const std::string& path, std::string& out, std::string& why) {
  // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string kind = special_file_kind(path);  // a socket cannot be opened (ENXIO)
    why =
        kind.empty() ? "cannot open (" + std::string(std::strerror(err)) + ")" : "is " + kind + ", not a regular file";
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    why = S_ISDIR(st.st_mode) ? "is a folder, not a file" : "is " + kind_of(st.st_mode) + ", not a regular file";
    close(fd);
    return false;
  }
  out.clear();
  out.reserve(size_t(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      why = "cannot be read (" + std::string(std::strerror(errno)) + ")";
      close(fd);
      return false;
    }
    out.append(buf, size_t(n));
  }
  close(fd);
  return true;
}

}  // namespace acts
