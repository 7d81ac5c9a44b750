// Writes a file so that readers only ever see the old file or the complete new one: data goes
// to "<path>.tmp.<pid>", is fsync'ed, then renamed over <path>. Destroyed without commit() (an
// exception, a signal-driven unwind), the temporary is removed and <path> is untouched.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

namespace acts {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // throws acts::Error naming the folder
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);  // throws on a short write (disk full)
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();                               // fsync, rename, fsync the folder

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

// Whole-file convenience.
void write_file_atomic(const std::string& path, const std::string& contents);
// Throws acts::Error naming the file; a FIFO or a device is refused without blocking or reading
// it, with `fix` after the reason.
std::string read_file(const std::string& path, const std::string& fix = "");

// Removes the "<name>.tmp.<pid>" files directly in `dir` whose process no longer runs: what a
// writer killed with SIGKILL (or a power cut) leaves behind. Returns how many; best effort.
size_t remove_stale_temporaries(const std::string& dir);

}  // namespace acts
