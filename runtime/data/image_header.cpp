// Header parsers for image sizes and JPEG completeness (see image_header.h). Every read is
// bounds-checked: these run on untrusted files before any decoder does.
#include "image_header.h"

#include <cstdlib>
#include <cstring>

#include "runtime/core/crc32.h"

namespace acts {

namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return p[0] | (uint32_t(p[1]) << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

ImageSize known(long long w, long long h) { return ImageSize{true, w, h}; }

ImageSize png_size(const uint8_t* d, size_t n) {
  if (n < 24 || std::memcmp(d + 12, "IHDR", 4) != 0) return {};
  return known(be32(d + 16), be32(d + 20));
}

// SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
bool is_sof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }
bool standalone(uint8_t m) { return m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7); }

ImageSize jpeg_size(const uint8_t* d, size_t n) {
  size_t p = 2;
  while (p + 4 <= n) {
    // libjpeg skips stray bytes before a marker (with a warning) and decodes on: so must this
    // walk, or the decoder would allocate for a frame header whose size was never checked.
    while (p < n && d[p] != 0xFF) ++p;
    while (p < n && d[p] == 0xFF) ++p;  // fill bytes
    if (p >= n) return {};
    const uint8_t m = d[p++];
    if (standalone(m)) continue;
    if (p + 2 > n) return {};
    const size_t len = be16(d + p);
    if (is_sof(m)) return p + 7 <= n ? known(be16(d + p + 5), be16(d + p + 3)) : ImageSize{};
    if (m == 0xDA || m == 0xD9 || len < 2) return {};  // scan data before any frame header
    p += len;
  }
  return {};
}

ImageSize bmp_size(const uint8_t* d, size_t n) {
  if (n < 26) return {};
  const uint32_t dib = le32(d + 14);
  if (dib == 12) return known(le16(d + 18), le16(d + 20));                 // BITMAPCOREHEADER
  return known(int32_t(le32(d + 18)), std::llabs(int32_t(le32(d + 22))));  // negative: top-down
}

ImageSize pnm_size(const uint8_t* d, size_t n) {
  long long v[2];
  size_t p = 2;
  for (long long& x : v) {
    for (;;) {  // whitespace and # comments
      while (p < n && (d[p] == ' ' || d[p] == '\t' || d[p] == '\r' || d[p] == '\n')) ++p;
      if (p < n && d[p] == '#') {
        while (p < n && d[p] != '\n') ++p;
        continue;
      }
      break;
    }
    if (p >= n || d[p] < '0' || d[p] > '9') return {};
    x = 0;
    while (p < n && d[p] >= '0' && d[p] <= '9' && x < (1LL << 40)) x = x * 10 + (d[p++] - '0');
  }
  return known(v[0], v[1]);
}

ImageSize tiff_size(const uint8_t* d, size_t n) {
  const bool le = d[0] == 'I';
  auto u16 = [&](size_t p) { return le ? le16(d + p) : be16(d + p); };
  auto u32 = [&](size_t p) { return le ? le32(d + p) : be32(d + p); };
  if (n < 8 || u16(2) != 42) return {};  // 43 = BigTIFF: left to the decoder
  const size_t ifd = u32(4);
  if (ifd + 2 > n) return {};
  const size_t count = u16(ifd);
  long long w = -1, h = -1;
  for (size_t i = 0; i < count; ++i) {
    const size_t e = ifd + 2 + 12 * i;
    if (e + 12 > n) return {};
    const uint32_t tag = u16(e), type = u16(e + 2);
    const long long value = type == 3 ? u16(e + 8) : type == 4 ? u32(e + 8) : -1;
    if (tag == 256) w = value;
    if (tag == 257) h = value;
  }
  return w >= 0 && h >= 0 ? known(w, h) : ImageSize{};
}

}  // namespace

ImageSize sniff_image_size(const uint8_t* d, size_t n) {
  if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return png_size(d, n);
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return jpeg_size(d, n);
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return bmp_size(d, n);
  if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6') return pnm_size(d, n);
  if (n >= 4 && (std::memcmp(d, "II", 2) == 0 || std::memcmp(d, "MM", 2) == 0)) return tiff_size(d, n);
  return {};
}

JpegEnd jpeg_end(const uint8_t* d, size_t n) {
  if (n < 3 || d[0] != 0xFF || d[1] != 0xD8) return JpegEnd::NotJpeg;
  size_t p = 2;
  bool in_scan = false;
  while (p < n) {
    if (in_scan) {  // entropy-coded data: FF 00 is a stuffed byte, FF D0..D7 a restart marker
      const uint8_t* ff = static_cast<const uint8_t*>(std::memchr(d + p, 0xFF, n - p));
      if (!ff) return JpegEnd::Truncated;
      p = size_t(ff - d) + 1;
      while (p < n && d[p] == 0xFF) ++p;
      if (p >= n) return JpegEnd::Truncated;
      const uint8_t m = d[p];
      if (m == 0x00 || (m >= 0xD0 && m <= 0xD7)) {
        ++p;
        continue;
      }
      in_scan = false;
      p = size_t(ff - d);  // re-read as a marker below
    }
    if (d[p] != 0xFF) return JpegEnd::Unparsed;
    while (p < n && d[p] == 0xFF) ++p;
    if (p >= n) return JpegEnd::Truncated;
    const uint8_t m = d[p++];
    if (m == 0xD9) return JpegEnd::Complete;
    if (standalone(m)) continue;
    if (p + 2 > n) return JpegEnd::Truncated;
    const size_t len = be16(d + p);
    if (len < 2) return JpegEnd::Unparsed;
    if (p + len > n) return JpegEnd::Truncated;
    p += len;
    if (m == 0xDA) in_scan = true;
  }
  return JpegEnd::Truncated;
}

PngCheck png_check(const uint8_t* d, size_t n, char bad_chunk[5]) {
  if (n < 8 || std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0) return PngCheck::NotPng;
  size_t p = 8;
  for (;;) {
    if (n - p < 12) return PngCheck::Truncated;  // length, type, CRC at least
    const size_t len = be32(d + p);
    if (len > 0x7fffffffu) {  // the PNG limit: a damaged length
      std::memcpy(bad_chunk, d + p + 4, 4);
      bad_chunk[4] = '\0';
      return PngCheck::Damaged;
    }
    if (n - p - 12 < len) return PngCheck::Truncated;
    if (crc32(d + p + 4, 4 + len) != be32(d + p + 8 + len)) {  // over the type and the data
      for (int i = 0; i < 4; ++i) {
        const uint8_t ch = d[p + 4 + size_t(i)];
        bad_chunk[i] = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ? char(ch) : '?';
      }
      bad_chunk[4] = '\0';
      return PngCheck::Damaged;
    }
    const bool end = std::memcmp(d + p + 4, "IEND", 4) == 0;
    p += 12 + len;
    if (end) return PngCheck::Complete;
  }
}

}  // namespace acts
