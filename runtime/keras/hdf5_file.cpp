#include "runtime/keras/hdf5_file.h"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "runtime/core/errors.h"
#include "runtime/core/regular_file.h"

namespace acts {
namespace {

static_assert(sizeof(hid_t) == sizeof(int64_t), "HDF5 1.10+ identifiers are 64-bit");

// HDF5 prints its whole error stack on stderr by default; our messages say it in one line.
void quiet_hdf5() {
  static const bool once = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)once;
}

H5Id checked(hid_t id, int (*close)(int64_t), const std::string& what) {
  if (id < 0) fail(what);
  return H5Id(id, close);
}

int close_file(int64_t id) { return H5Fclose(id); }
int close_group(int64_t id) { return H5Gclose(id); }
int close_attr(int64_t id) { return H5Aclose(id); }
int close_dataset(int64_t id) { return H5Dclose(id); }
int close_type(int64_t id) { return H5Tclose(id); }
int close_space(int64_t id) { return H5Sclose(id); }
int close_plist(int64_t id) { return H5Pclose(id); }

// The components of "a/b/c", empty ones dropped.
std::vector<std::string> components(const std::string& rel) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= rel.size()) {
    const size_t end = rel.find('/', start);
    const std::string part = rel.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string shape_text(const std::vector<int>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

std::string join(const std::string& base, const std::string& rel) {
  if (base == "/") return "/" + rel;
  return base + "/" + rel;
}

std::vector<int> extent(hid_t space, const std::string& where) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > 8) fail(where, ": unreadable dataspace");
  hsize_t dims[8] = {};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  std::vector<int> shape;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] > (hsize_t(1) << 31)) fail(where, ": dimension ", dims[i], " is too large");
    shape.push_back(int(dims[i]));
  }
  return shape;
}

// Strings of an attribute or dataset of string type, read as HDF5 stores them.
std::vector<std::string> read_strings(hid_t attr, hid_t ftype, size_t n, const std::string& where) {
  std::vector<std::string> out;
  const H5Id mtype(H5Tcopy(H5T_C_S1), close_type);
  if (H5Tis_variable_str(ftype) > 0) {
    H5Tset_size(mtype.get(), H5T_VARIABLE);
    H5Tset_cset(mtype.get(), H5Tget_cset(ftype));
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(attr, mtype.get(), ptrs.data()) < 0) fail(where, ": unreadable string attribute");
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return out;
  }
  const size_t size = H5Tget_size(ftype);
  if (size == 0 || size > (size_t(1) << 28) || n > (size_t(1) << 24)) fail(where, ": string attribute too large");
  H5Tset_size(mtype.get(), size);
  H5Tset_strpad(mtype.get(), H5T_STR_NULLPAD);
  std::vector<char> buf(n * size + 1, '\0');
  if (H5Aread(attr, mtype.get(), buf.data()) < 0) fail(where, ": unreadable string attribute");
  for (size_t i = 0; i < n; ++i) out.emplace_back(buf.data() + i * size, strnlen(buf.data() + i * size, size));
  return out;
}

uint64_t le64(const std::string& b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | uint8_t(b[at + size_t(i)]);
  return v;
}

// HDF5 1.10's reader of a global heap collection (H5HG__cache_heap_deserialize; the heap holds
// variable-length strings, as h5py writes Keras 3's attributes) steps from object to object by
// each one's size, and loops for ever on a free-space object of size 0, which a damaged file can
// hold (tests/fuzz found one). Each collection is walked here first, as HDF5 would: "GCOL",
// version 1, its size (at least 4096), then objects (index 2 bytes, references 2, reserved 4,
// size 8, the data padded to 8 bytes; index 0 is the free space to the end). Random bytes that
// spell a collection header are checked too: at worst a file is refused that HDF5 would read.
void check_global_heaps(const std::string& bytes, const std::string& name) {
  for (size_t at = bytes.find("GCOL"); at != std::string::npos; at = bytes.find("GCOL", at + 4)) {
    if (at + 16 > bytes.size() || bytes[at + 4] != 1) continue;
    const uint64_t size = le64(bytes, at + 8);
    if (size < 4096 || size > bytes.size() - at) continue;
    const size_t end = at + size_t(size);
    for (size_t p = at + 16; p + 16 <= end;) {
      const unsigned idx = unsigned(uint8_t(bytes[p])) | unsigned(uint8_t(bytes[p + 1])) << 8;
      const uint64_t obj = le64(bytes, p + 8);
      const uint64_t need = idx == 0 ? obj : 16 + (obj > (uint64_t(1) << 62) ? obj : (obj + 7) / 8 * 8);
      if (need == 0 || need > end - p)
        fail(name, ": damaged HDF5 global heap (an object of ", obj, " bytes at byte ", p, " in the collection at ",
             at, ", which HDF5 cannot step over); give a file Keras saved");
      p += size_t(need);
    }
  }
}

}  // namespace

H5Id& H5Id::operator=(H5Id&& o) noexcept {
  if (this != &o) {
    if (id_ >= 0 && close_) close_(id_);
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

H5Id::~H5Id() {
  if (id_ >= 0 && close_) close_(id_);
}

bool looks_like_hdf5(const std::string& b) { return b.size() >= 8 && std::memcmp(b.data(), "\x89HDF\r\n\x1a\n", 8) == 0; }

H5Group::H5Group(H5Id id, std::shared_ptr<const std::string> file, std::string path)
    : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)) {}

std::string H5Group::where() const { return *file_ + ": " + path_; }

bool H5Group::has(const std::string& rel) const {
  std::string sofar;
  for (const std::string& part : components(rel)) {
    sofar += (sofar.empty() ? "" : "/") + part;
    if (H5Lexists(id_.get(), sofar.c_str(), H5P_DEFAULT) <= 0) return false;
    // An external (or user-defined) link leads into another file, which HDF5 would open to
    // follow it: whatever file it names, a FIFO blocking for ever. Keras writes none.
    H5L_info_t info;
    if (H5Lget_info(id_.get(), sofar.c_str(), &info, H5P_DEFAULT) < 0) fail(where(), ": ", sofar, ": unreadable link");
    if (info.type != H5L_TYPE_HARD && info.type != H5L_TYPE_SOFT)
      fail(*file_, ": ", join(path_, sofar), " is a link to another file, which Keras does not write; give a file "
           "Keras saved");
  }
  return !sofar.empty();
}

bool H5Group::has_group(const std::string& rel) const {
  if (!has(rel)) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name(id_.get(), rel.c_str(), &info, H5P_DEFAULT) < 0) return false;
  return info.type == H5O_TYPE_GROUP;
}

H5Group H5Group::group(const std::string& rel) const {
  const std::string path = join(path_, rel);
  if (!has_group(rel)) fail(*file_, ": ", path, " is missing (not a Keras file of the expected layout, or damaged)");
  H5Id g = checked(H5Gopen2(id_.get(), rel.c_str(), H5P_DEFAULT), close_group, *file_ + ": " + path + ": unreadable group");
  return H5Group(std::move(g), file_, path);
}

size_t H5Group::size() const {
  H5G_info_t info;
  if (H5Gget_info(id_.get(), &info) < 0) fail(where(), ": unreadable group");
  return size_t(info.nlinks);
}

bool H5Group::has_attr(const std::string& name) const { return H5Aexists(id_.get(), name.c_str()) > 0; }

std::string H5Group::string_attr(const std::string& name) const {
  const std::string where = this->where() + " attribute " + name;
  if (!has_attr(name)) fail(where, " is missing (not a Keras file, or damaged)");
  const H5Id attr = checked(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), close_attr, where + ": unreadable");
  const H5Id type = checked(H5Aget_type(attr.get()), close_type, where + ": unreadable type");
  const H5Id space = checked(H5Aget_space(attr.get()), close_space, where + ": unreadable dataspace");
  if (H5Tget_class(type.get()) != H5T_STRING) fail(where, ": not a string");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n != 1) fail(where, ": ", n, " strings where one was expected");
  return read_strings(attr.get(), type.get(), 1, where)[0];
}

std::vector<std::string> H5Group::string_list_attr(const std::string& name) const {
  if (!has_attr(name)) {
    std::vector<std::string> joined;  // Keras' chunks NAME0, NAME1, ...
    for (int k = 0; has_attr(name + std::to_string(k)); ++k) {
      const std::vector<std::string> part = string_list_attr(name + std::to_string(k));
      joined.insert(joined.end(), part.begin(), part.end());
    }
    if (!has_attr(name + "0")) fail(where(), " attribute ", name, " is missing (not a Keras file, or damaged)");
    return joined;
  }
  const std::string where = this->where() + " attribute " + name;
  const H5Id attr = checked(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), close_attr, where + ": unreadable");
  const H5Id type = checked(H5Aget_type(attr.get()), close_type, where + ": unreadable type");
  const H5Id space = checked(H5Aget_space(attr.get()), close_space, where + ": unreadable dataspace");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(where, ": unreadable dataspace");
  if (n == 0) return {};
  if (H5Tget_class(type.get()) != H5T_STRING) fail(where, ": not a list of strings");
  return read_strings(attr.get(), type.get(), size_t(n), where);
}

namespace {

H5Id open_dataset(hid_t group, const H5Group& g, const std::string& rel, const std::string& where) {
  if (!g.has(rel)) fail(where, " is missing (the file's weights do not match its model config, or it is damaged)");
  return checked(H5Dopen2(group, rel.c_str(), H5P_DEFAULT), close_dataset, where + ": not a dataset");
}

}  // namespace

std::vector<int> H5Group::tensor_shape(const std::string& rel) const {
  const std::string where = *file_ + ": " + join(path_, rel);
  const H5Id ds = open_dataset(id_.get(), *this, rel, where);
  const H5Id space = checked(H5Dget_space(ds.get()), close_space, where + ": unreadable dataspace");
  return extent(space.get(), where);
}

H5Tensor H5Group::tensor(const std::string& rel, bool allow_integer, size_t max_values) const {
  const std::string where = *file_ + ": " + join(path_, rel);
  const H5Id ds = open_dataset(id_.get(), *this, rel, where);
  // Raw data kept in other files (external storage, virtual datasets) would be read from
  // whatever they name; Keras stores every tensor in the file itself.
  const H5Id dcpl = checked(H5Dget_create_plist(ds.get()), close_plist, where + ": unreadable dataset properties");
  if (H5Pget_external_count(dcpl.get()) != 0 || H5Pget_layout(dcpl.get()) == H5D_VIRTUAL)
    fail(where, ": its data is stored in another file, which Keras does not do; give a file Keras saved");
  const H5Id type = checked(H5Dget_type(ds.get()), close_type, where + ": unreadable type");
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && !(allow_integer && cls == H5T_INTEGER)) fail(where, ": not a float tensor");
  const H5Id space = checked(H5Dget_space(ds.get()), close_space, where + ": unreadable dataspace");
  H5Tensor t;
  t.shape = extent(space.get(), where);
  // The count, refused as soon as it passes the limit (8 dimensions of 2^31 would overflow).
  const size_t limit = std::min(max_values, size_t(1) << 32);
  size_t n = 1;
  bool too_many = false;
  for (int d : t.shape) {
    too_many = too_many || (d > 0 && n > limit / size_t(d));
    n = too_many ? n : n * size_t(d);
  }
  if (too_many || n > limit) {
    double values = 1;  // exact up to 2^53, and printed whole
    for (int d : t.shape) values *= d;
    char count[32];
    std::snprintf(count, sizeof count, "%.0f", values);
    fail(where, ": has shape ", shape_text(t.shape), " (", count, " values), more than the ", limit, " it can hold "
         "here; the file is damaged or does not belong to this model");
  }
  t.data.resize(n);
  if (n > 0 && H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()) < 0)
    fail(where, ": unreadable data (the file is truncated or damaged)");
  return t;
}

H5Group H5Group::create_group(const std::string& name) const {
  const H5Id lcpl(H5Pcreate(H5P_LINK_CREATE), close_plist);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Id g = checked(H5Gcreate2(id_.get(), name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), close_group,
                   where() + ": cannot create group " + name);
  return H5Group(std::move(g), file_, join(path_, name));
}

void H5Group::set_string_attr(const std::string& name, const std::string& value) const {
  const H5Id type(H5Tcopy(H5T_C_S1), close_type);
  H5Tset_size(type.get(), value.empty() ? 1 : value.size());
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  const H5Id space(H5Screate(H5S_SCALAR), close_space);
  const H5Id attr = checked(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                            close_attr, where() + ": cannot write attribute " + name);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  if (H5Awrite(attr.get(), type.get(), padded.data()) < 0) fail(where(), ": cannot write attribute ", name);
}

void H5Group::set_string_list_attr(const std::string& name, const std::vector<std::string>& values) const {
  const hsize_t n = values.size();
  const H5Id space(H5Screate_simple(1, &n, nullptr), close_space);
  if (values.empty()) {  // as h5py stores Keras' empty list: float64, 0 elements
    const H5Id attr = checked(H5Acreate2(id_.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                              close_attr, where() + ": cannot write attribute " + name);
    return;
  }
  size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  const H5Id type(H5Tcopy(H5T_C_S1), close_type);
  H5Tset_size(type.get(), width);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  std::vector<char> buf(values.size() * width, '\0');
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  const H5Id attr = checked(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                            close_attr, where() + ": cannot write attribute " + name);
  if (H5Awrite(attr.get(), type.get(), buf.data()) < 0) fail(where(), ": cannot write attribute ", name);
}

void H5Group::write_tensor(const std::string& name, const std::vector<int>& shape, const float* data) const {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  const H5Id space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
                   close_space);
  const H5Id lcpl(H5Pcreate(H5P_LINK_CREATE), close_plist);
  H5Pset_create_intermediate_group(lcpl.get(), 1);  // Keras 2 names weights "conv2d_1/kernel:0"
  const H5Id ds = checked(H5Dcreate2(id_.get(), name.c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(), H5P_DEFAULT,
                                     H5P_DEFAULT),
                          close_dataset, where() + ": cannot create dataset " + name);
  if (H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(where(), ": cannot write dataset ", name);
}

void H5Group::write_int64_scalar(const std::string& name, int64_t value) const {
  const H5Id space(H5Screate(H5S_SCALAR), close_space);
  const H5Id ds = checked(H5Dcreate2(id_.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                     H5P_DEFAULT),
                          close_dataset, where() + ": cannot create dataset " + name);
  if (H5Dwrite(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
    fail(where(), ": cannot write dataset ", name);
}

H5File::H5File(H5Id id, std::string name) : id_(std::move(id)), name_(std::make_shared<const std::string>(std::move(name))) {}

// The file is read once, whole (check_global_heaps walks it; Keras' files are small), and HDF5
// opens those bytes rather than reading the file a second time.
H5File H5File::open(const std::string& path) {
  std::string bytes, why;
  if (!read_regular_file(path, bytes, why)) fail(path, ": ", why);
  return open_image(bytes, path);
}

H5File H5File::open_image(const std::string& bytes, const std::string& name) {
  quiet_hdf5();
  if (!looks_like_hdf5(bytes)) fail(name, ": not an HDF5 file; give a file Keras saved");
  check_global_heaps(bytes, name);
  // Flags 0: HDF5 copies the buffer and opens it read-only.
  const hid_t id = H5LTopen_file_image(const_cast<char*>(bytes.data()), bytes.size(), 0);
  return H5File(checked(id, close_file, name + ": not a readable HDF5 file (truncated or damaged?); give a file Keras "
                                                  "saved"),
                name);
}

H5File H5File::create_in_memory(const std::string& name) {
  quiet_hdf5();
  const H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), close_plist);
  // The core driver without a backing store: nothing reaches the disk until image() is written.
  if (H5Pset_fapl_core(fapl.get(), 1 << 20, 0) < 0) fail(name, ": HDF5 cannot make an in-memory file");
  return H5File(checked(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), close_file,
                        name + ": HDF5 cannot make an in-memory file"),
                name);
}

H5Group H5File::root() const {
  H5Id g = checked(H5Gopen2(id_.get(), "/", H5P_DEFAULT), close_group, *name_ + ": unreadable root group");
  return H5Group(std::move(g), name_, "/");
}

std::string H5File::image() const {
  if (H5Fflush(id_.get(), H5F_SCOPE_GLOBAL) < 0) fail(*name_, ": HDF5 cannot flush the file");
  const ssize_t size = H5Fget_file_image(id_.get(), nullptr, 0);
  if (size <= 0) fail(*name_, ": HDF5 cannot take the file's image");
  std::string bytes(size_t(size), '\0');
  if (H5Fget_file_image(id_.get(), bytes.data(), size_t(size)) != size) fail(*name_, ": HDF5 cannot take the file's image");
  return bytes;
}

}  // namespace acts
