// NumPy .npy files (format 1.0/2.0, little-endian, C order): float32 activations out, datasets
// and test goldens in. np.load() reads what write_npy() writes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace acts {

struct NpyArray {
  std::string dtype;          // numpy descr: "<f4", "|u1", "<i8", "<f8", "<i4", "|b1"
  std::vector<size_t> shape;
  std::vector<char> data;     // raw little-endian values
  size_t count() const;
  std::vector<float> to_float() const;  // any numeric dtype, converted
  const uint8_t* u8() const;            // throws unless dtype is |u1
};

NpyArray read_npy(const std::string& path);  // throws acts::Error naming the file and the problem
// read_npy on an open binary stream (seekable: the data size is checked against its end);
// `path` names it in error messages.
NpyArray read_npy(std::istream& in, const std::string& path);
void write_npy(const std::string& path, const float* data, const std::vector<size_t>& shape);   // atomic
void write_npy(const std::string& path, const uint8_t* data, const std::vector<size_t>& shape);
// The header write_npy() puts before the data (descr "<f4" or "|u1"), for writers that stream
// the data after it (dump_acts writes (N, H, W, C) arrays chunk by chunk).
std::string npy_header(const char* descr, const std::vector<size_t>& shape);

}  // namespace acts
