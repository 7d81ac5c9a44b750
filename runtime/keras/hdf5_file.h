// A small RAII layer over HDF5's C API (Debian's libhdf5-dev 1.10): what reading and writing
// Keras' weight files needs, and no more. Files are opened from disk or from bytes in memory
// (the model.weights.h5 inside a .keras zip) and created in memory, so a written file reaches
// the disk in one atomic rename. Every failure throws acts::Error naming the file and the object;
// HDF5's own error-stack printing is switched off (one line per failure, not a page).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace acts {

// An HDF5 identifier closed by the function it was opened with.
class H5Id {
 public:
  H5Id() = default;
  H5Id(int64_t id, int (*close)(int64_t)) : id_(id), close_(close) {}
  H5Id(H5Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  H5Id& operator=(H5Id&& o) noexcept;
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id();
  int64_t get() const { return id_; }

 private:
  int64_t id_ = -1;
  int (*close_)(int64_t) = nullptr;
};

// A float tensor read from a dataset, converted to float32 by HDF5 (from float16/32/64).
struct H5Tensor {
  std::vector<int> shape;  // () for a scalar
  std::vector<float> data;
};

class H5Group {
 public:
  // `file` and `path` name the object in messages ("model.h5: /model_weights/conv2d_1").
  H5Group(H5Id id, std::shared_ptr<const std::string> file, std::string path);

  const std::string& path() const { return path_; }
  std::string where() const;  // "FILE: /path"

  bool has(const std::string& rel) const;        // a link at this relative path (a/b/c), any kind
  bool has_group(const std::string& rel) const;  // ... that is a group
  H5Group group(const std::string& rel) const;   // throws when absent or not a group
  size_t size() const;                           // the number of links in this group

  bool has_attr(const std::string& name) const;
  // A string attribute: scalar or 1-element, fixed or variable length.
  std::string string_attr(const std::string& name) const;
  // A list of strings: a 1-D string attribute, or an empty one of any type (h5py writes an empty
  // list as a float64 array of size 0). Keras splits long lists into NAME0, NAME1, ... (HDF5's
  // 64 KiB object-header limit); those are joined.
  std::vector<std::string> string_list_attr(const std::string& name) const;

  // The shape of the dataset at a relative path, from its header (nothing read).
  std::vector<int> tensor_shape(const std::string& rel) const;
  // A float dataset at a relative path, any float width; integer datasets are refused unless
  // `allow_integer` (optimizer step counters). One of more than `max_values` values is refused
  // before any buffer is made: a header can claim 2^32 values that the file does not hold.
  H5Tensor tensor(const std::string& rel, bool allow_integer = false, size_t max_values = size_t(1) << 32) const;

  // Writing, as h5py writes what Keras hands it.
  H5Group create_group(const std::string& name) const;  // one level, or a/b with missing parents
  void set_string_attr(const std::string& name, const std::string& value) const;  // fixed-length scalar
  void set_string_list_attr(const std::string& name, const std::vector<std::string>& values) const;
  void write_tensor(const std::string& name, const std::vector<int>& shape, const float* data) const;
  void write_int64_scalar(const std::string& name, int64_t value) const;

 private:
  H5Id id_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

class H5File {
 public:
  // Throws acts::Error "FILE: not an HDF5 file ..." for anything HDF5 cannot open.
  static H5File open(const std::string& path);
  static H5File open_image(const std::string& bytes, const std::string& name);
  static H5File create_in_memory(const std::string& name);

  H5Group root() const;
  std::string image() const;  // the whole file's bytes (after a flush)
  const std::string& name() const { return *name_; }

 private:
  H5File(H5Id id, std::string name);
  H5Id id_;
  std::shared_ptr<const std::string> name_;
};

// True when the first bytes are HDF5's signature (at offset 0: the only place Keras' files have it).
bool looks_like_hdf5(const std::string& first_bytes);

}  // namespace acts
