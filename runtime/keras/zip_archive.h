// Zip archives through libzip (Debian's libzip-dev): reading the entries of a Keras 3 .keras file
// and building one in memory, so that it reaches the disk in one atomic rename. Failures throw
// acts::Error naming the archive (and the entry).
#pragma once
#include <string>
#include <utility>
#include <vector>

struct zip;  // libzip's archive handle (zip_t)

namespace acts {

// The named entries of a zip file, read whole. Throws "PATH: not a zip file ..." for anything
// libzip cannot open, and names a missing entry.
class ZipReader {
 public:
  explicit ZipReader(const std::string& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool has(const std::string& entry) const;
  // Refused, before any buffer is made, when the archive says the entry is over `max_bytes`.
  std::string read(const std::string& entry, size_t max_bytes = size_t(1) << 34) const;
  std::vector<std::string> entries() const;

 private:
  std::string path_;
  ::zip* z_ = nullptr;
};

// A zip archive of (name, bytes) entries, stored uncompressed as Keras' own writer does.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries, const std::string& name);

// True when the first bytes are a zip's local-file signature.
bool looks_like_zip(const std::string& first_bytes);

}  // namespace acts
