#include "runtime/core/npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

#include "runtime/core/atomic_file.h"
#include "runtime/core/errors.h"

namespace acts {

namespace {

size_t itemsize(const std::string& d, const std::string& path) {
  if (d == "<f4" || d == "<i4") return 4;
  if (d == "<f8" || d == "<i8") return 8;
  if (d == "|u1" || d == "|b1" || d == "<u1" || d == "|i1") return 1;
  fail(path, ": dtype '", d, "' is not supported (use float32, float64, int32, int64, uint8 or bool)");
}

std::string header(const char* descr, const std::vector<size_t>& shape) {
  std::string s = "(";
  for (size_t d : shape) s += std::to_string(d) + ",";
  if (shape.size() > 1) s.pop_back();
  s += ")";
  std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + s + ", }";
  const size_t total = 10 + h.size() + 1;  // magic(6) ver(2) len(2) + dict + '\n'
  h += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(h.size() & 0xff);
  out += char(h.size() >> 8);
  return out + h;
}

void write_any(const std::string& path, const char* descr, const void* data, size_t bytes,
               const std::vector<size_t>& shape) {
  AtomicFile f(path);
  f.write(header(descr, shape));
  f.write(data, bytes);
  f.commit();
}

// Finds `key` in the header dict and calls value(position after the key and any whitespace) for
// each occurrence until it returns true. (std::regex did this before, but it recurses once per
// character and overflowed the stack on long damaged headers.)
template <typename F>
bool header_value(const std::string& h, const char* key, F value) {
  for (size_t k = h.find(key); k != std::string::npos; k = h.find(key, k + 1)) {
    size_t p = k + std::strlen(key);
    while (p < h.size() && std::isspace(static_cast<unsigned char>(h[p]))) ++p;
    if (value(p)) return true;
  }
  return false;
}

// read_npy's phases, in the order it runs them; each refuses what it finds wrong with one line
// naming the file.

// The header's length, stored after the magic in 2 bytes (version 1) or 4 (versions 2 and 3).
uint32_t header_length(std::istream& f, const std::string& path) {
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) fail(path, ": not an NPY file (bad magic)");
  if (magic[6] == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) fail(path, ": truncated NPY header");
    return b[0] | (b[1] << 8);
  }
  if (magic[6] == 2 || magic[6] == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) fail(path, ": truncated NPY header");
    return b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  fail(path, ": unsupported NPY version ", int(magic[6]));
}

// The header dict's text; a length over 1 MiB is damage (numpy's headers for plain arrays are
// under a kilobyte), refused before allocating for it.
std::string read_header_text(std::istream& f, const std::string& path) {
  const uint32_t hlen = header_length(f, path);
  if (hlen > (1u << 20)) fail(path, ": NPY header too large; the file is damaged");
  std::string h(hlen, '\0');
  if (!f.read(h.data(), hlen)) fail(path, ": truncated NPY header");
  return h;
}

// The dict's entries: the dtype ('descr'), the layout ('fortran_order': C order only) and the text
// between the parentheses of the shape tuple ('shape').
void parse_header_dict(const std::string& h, const std::string& path, std::string& dtype, std::string& dims) {
  if (!header_value(h, "'descr':", [&](size_t p) {
        const size_t q = h.find('\'', p + 1);
        if (p >= h.size() || h[p] != '\'' || q == std::string::npos || q == p + 1) return false;
        dtype = h.substr(p + 1, q - p - 1);
        return true;
      }))
    fail(path, ": NPY header has no descr");
  if (header_value(h, "'fortran_order':", [&](size_t p) { return h.compare(p, 4, "True") == 0; }))
    fail(path, ": Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
  if (!header_value(h, "'shape':", [&](size_t p) {
        const size_t q = h.find(')', p);
        if (p >= h.size() || h[p] != '(' || q == std::string::npos) return false;
        dims = h.substr(p + 1, q - p - 1);
        return true;
      }))
    fail(path, ": NPY header has no shape");
}

// The dimensions in the shape tuple's text: every run of digits is one. A run of more than 18
// digits is no real dimension and could overflow std::stoull: refused.
std::vector<size_t> parse_dims(const std::string& dims, const std::string& path) {
  std::vector<size_t> shape;
  for (size_t i = 0; i < dims.size();) {
    if (!std::isdigit(static_cast<unsigned char>(dims[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < dims.size() && std::isdigit(static_cast<unsigned char>(dims[j]))) ++j;
    if (j - i > 18) fail(path, ": NPY shape (", dims, ") is impossible; the file is damaged");
    shape.push_back(std::stoull(dims.substr(i, j - i)));
    i = j;
  }
  return shape;
}

// The size of the array's data. The shape comes from the file: the product is checked for
// overflow so that a damaged header cannot wrap it around to something small.
size_t data_bytes(const NpyArray& a, const std::string& dims, const std::string& path) {
  size_t bytes = itemsize(a.dtype, path);
  for (size_t d : a.shape) {
    if (d != 0 && bytes > std::numeric_limits<size_t>::max() / d)
      fail(path, ": NPY shape (", dims, ") is impossible; the file is damaged");
    bytes *= d;
  }
  return bytes;
}

// How many bytes the stream holds after its read position, which is left where it was: the data
// size is checked against it before allocating, so a damaged header cannot exhaust memory.
size_t bytes_left(std::istream& f) {
  const std::streamoff here = f.tellg();
  f.seekg(0, std::ios::end);
  const size_t available = size_t(std::streamoff(f.tellg()) - here);
  f.seekg(here);
  return available;
}

}  // namespace

std::string npy_header(const char* descr, const std::vector<size_t>& shape) { return header(descr, shape); }

size_t NpyArray::count() const {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

const uint8_t* NpyArray::u8() const {
  if (dtype != "|u1" && dtype != "<u1") fail("NPY array has dtype ", dtype, ", expected uint8");
  return reinterpret_cast<const uint8_t*>(data.data());
}

std::vector<float> NpyArray::to_float() const {
  std::vector<float> out(count());
  for (size_t i = 0; i < out.size(); ++i) {
    const char* p = data.data();
    if (dtype == "<f4") { float v; std::memcpy(&v, p + 4 * i, 4); out[i] = v; }
    else if (dtype == "<f8") { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = float(v); }
    else if (dtype == "<i4") { int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = float(v); }
    else if (dtype == "<i8") { int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = float(v); }
    else if (dtype == "|i1") out[i] = float(int8_t(p[i]));
    else out[i] = float(uint8_t(p[i]));
  }
  return out;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open the NPY file (check the path)");
  return read_npy(f, path);
}

NpyArray read_npy(std::istream& f, const std::string& path) {
  const std::string h = read_header_text(f, path);
  NpyArray a;
  std::string dims;  // the shape tuple's text, as the file has it: the "impossible shape" messages quote it
  parse_header_dict(h, path, a.dtype, dims);
  a.shape = parse_dims(dims, path);
  const size_t bytes = data_bytes(a, dims, path);
  const size_t available = bytes_left(f);
  if (bytes > available)
    fail(path, ": NPY file is truncated (expected ", bytes, " bytes of data, found ", available, ")");
  a.data.resize(bytes);
  if (!f.read(a.data.data(), std::streamsize(bytes)))
    fail(path, ": NPY file is truncated (expected ", bytes, " bytes of data)");
  return a;
}

void write_npy(const std::string& path, const float* data, const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  write_any(path, "<f4", data, n * 4, shape);
}

void write_npy(const std::string& path, const uint8_t* data, const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  write_any(path, "|u1", data, n, shape);
}

}  // namespace acts
