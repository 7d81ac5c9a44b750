#include "runtime/keras/zip_archive.h"

#include <zip.h>

#include <cstring>
#include <memory>

#include "runtime/core/errors.h"

namespace acts {

bool looks_like_zip(const std::string& b) { return b.size() >= 4 && std::memcmp(b.data(), "PK\x03\x04", 4) == 0; }

ZipReader::ZipReader(const std::string& path) : path_(path) {
  int err = 0;
  z_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z_) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    fail(path, ": not a readable zip archive (", why, "); give a .keras file Keras saved");
  }
}

ZipReader::~ZipReader() {
  if (z_) zip_discard(z_);
}

bool ZipReader::has(const std::string& entry) const { return zip_name_locate(z_, entry.c_str(), 0) >= 0; }

std::vector<std::string> ZipReader::entries() const {
  std::vector<std::string> out;
  const zip_int64_t n = zip_get_num_entries(z_, 0);
  for (zip_int64_t i = 0; i < n; ++i)
    if (const char* name = zip_get_name(z_, zip_uint64_t(i), 0)) out.emplace_back(name);
  return out;
}

std::string ZipReader::read(const std::string& entry, size_t max_bytes) const {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(z_, entry.c_str(), 0, &st) != 0)
    fail(path_, ": has no ", entry, " (not a Keras 3 .keras file, or damaged); give a .keras file Keras saved");
  if (!(st.valid & ZIP_STAT_SIZE)) fail(path_, ": ", entry, " is of unknown size; give a .keras file Keras saved");
  // The size is the headers' word: checked before a buffer of that size is made.
  if (st.size > max_bytes)
    fail(path_, ": ", entry, " claims ", st.size, " bytes, more than the ", max_bytes, " it can hold here; the archive "
         "is damaged or not this model's (give a .keras file Keras saved)");
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen(z_, entry.c_str(), 0), zip_fclose);
  if (!f) fail(path_, ": cannot read ", entry, " (", zip_strerror(z_), ")");
  std::string bytes(size_t(st.size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const zip_int64_t n = zip_fread(f.get(), bytes.data() + got, bytes.size() - got);
    if (n <= 0)
      fail(path_, ": ", entry, " is truncated or damaged (", n < 0 ? zip_file_strerror(f.get()) : "shorter than the "
           "archive says", "); give a .keras file Keras saved");
    got += size_t(n);
  }
  // libzip compares the entry's CRC-32 only when a read reaches its end: without this read a
  // flipped byte would be used as it is.
  char past_end;
  if (const zip_int64_t n = zip_fread(f.get(), &past_end, 1); n != 0)
    fail(path_, ": ", entry, " is damaged (", n < 0 ? zip_file_strerror(f.get()) : "longer than the archive says",
         "); give a .keras file Keras saved");
  return bytes;
}

std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries, const std::string& name) {
  zip_error_t err;
  zip_error_init(&err);
  // An in-memory archive (libzip's documented way): a buffer source kept across zip_close().
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &err);
  if (!src) fail(name, ": libzip cannot make an archive (", zip_error_strerror(&err), ")");
  zip_source_keep(src);
  std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> keep(src, zip_source_free);
  zip_t* z = zip_open_from_source(src, ZIP_TRUNCATE, &err);
  if (!z) fail(name, ": libzip cannot make an archive (", zip_error_strerror(&err), ")");
  for (const auto& [entry, bytes] : entries) {
    zip_source_t* data = zip_source_buffer(z, bytes.data(), bytes.size(), 0);  // read at zip_close
    const zip_int64_t idx = data ? zip_file_add(z, entry.c_str(), data, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      if (data) zip_source_free(data);
      const std::string why = zip_strerror(z);
      zip_discard(z);
      fail(name, ": libzip cannot add ", entry, " (", why, ")");
    }
    zip_set_file_compression(z, zip_uint64_t(idx), ZIP_CM_STORE, 0);
  }
  if (zip_close(z) != 0) {
    const std::string why = zip_strerror(z);
    zip_discard(z);
    fail(name, ": libzip cannot write the archive (", why, ")");
  }
  zip_stat_t st;
  if (zip_source_stat(src, &st) != 0 || zip_source_open(src) != 0) fail(name, ": libzip lost the archive");
  std::string out(size_t(st.size), '\0');
  const zip_int64_t n = zip_source_read(src, out.data(), out.size());
  zip_source_close(src);
  if (n != zip_int64_t(out.size())) fail(name, ": libzip lost the archive");
  return out;
}

}  // namespace acts
