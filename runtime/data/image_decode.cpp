// Image decoding with OpenCV, matching keras_preprocessing's load_img (PIL): 8-bit RGB, EXIF
// orientation ignored (PIL does not apply it), Pillow-exact NEAREST resize. Checked before
// decoding: empty files, sizes from the header, truncated JPEGs (libjpeg would pad them
// silently; PIL refuses them).
#include "image_decode.h"

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "runtime/core/errors.h"
#include "image_header.h"
#include "pil_resize.h"
#include "runtime/core/regular_file.h"

namespace acts {

namespace {

// Why an image of w x h pixels is not read ("" when it may be): larger than any photo should be.
std::string too_large(long long w, long long h) {
  if (w <= kMaxImageSide && h <= kMaxImageSide) return "";
  return std::to_string(w) + "x" + std::to_string(h) + " pixels is larger than the " + std::to_string(kMaxImageSide) +
         "-pixel limit per side; shrink the picture or remove it from the folder";
}

}  // namespace

void check_load_options(const LoadOptions& o) {
  if (o.height <= 0 || o.width <= 0 || o.height > kMaxImageSide || o.width > kMaxImageSide)
    fail("image size ", o.height, "x", o.width, " is outside 1..", kMaxImageSide);
  if (o.interpolation != "nearest" && o.interpolation != "bilinear" && o.interpolation != "area")
    fail("interpolation '", o.interpolation, "' is not supported; use nearest (Keras' default), bilinear or area");
}

std::string decode_file(const std::string& path, const LoadOptions& o, uint8_t* out) {
  std::string file, why;  // a FIFO named x.jpg is refused here, without blocking in open()
  if (!read_regular_file(path, file, why)) return why;
  return decode_bytes(reinterpret_cast<const uint8_t*>(file.data()), file.size(), o, out);
}

std::string decode_bytes(const uint8_t* data, size_t n, const LoadOptions& o, uint8_t* out) {
  if (n == 0) return "empty file";
  // Decoders allocate the whole image before reading its data, so only an image whose size was
  // read from its header (and checked against the limit) goes to one: OpenCV also reads formats
  // the sniffing does not know (WebP, JPEG 2000, HDR, ...), and damaged headers it may misread.
  const ImageSize size = sniff_image_size(data, n);
  if (!size.known) return "image header not recognised (not PNG/JPEG/BMP/PPM/TIFF data, or damaged)";
  if (const std::string large = too_large(size.width, size.height); !large.empty()) return large;
  if (size.width <= 0 || size.height <= 0) return "header says the image has no pixels";
  if (jpeg_end(data, n) == JpegEnd::Truncated)
    return "truncated JPEG (the data ends before the image does); re-copy or remove it";
  char chunk[5] = "";
  switch (png_check(data, n, chunk)) {
    case PngCheck::Truncated: return "truncated PNG (the data ends before the image does); re-copy or remove it";
    case PngCheck::Damaged:
      return std::string("damaged PNG (chunk ") + chunk + " fails its CRC check); re-copy or remove it";
    default: break;
  }

  cv::Mat img;  // BGR, 8-bit (IMREAD_COLOR turns grey, palette, alpha and 16-bit into that)
  try {
    const cv::Mat bytes(1, int(n), CV_8U, const_cast<uint8_t*>(data));
    img = cv::imdecode(bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    return std::string("cannot be decoded (") + e.err + ")";
  }
  if (img.empty()) return "not a decodable image (corrupt, or not PNG/JPEG/BMP/PPM/TIFF data)";
  if (const std::string large = too_large(img.cols, img.rows); !large.empty()) return large;
  if (img.type() != CV_8UC3) return "decoded to an unexpected pixel type";

  if (o.interpolation == "nearest") {
    pil_nearest_resize(img.data, img.rows, img.cols, img.step, true, out, o.height, o.width);
    return "";
  }
  cv::Mat resized;
  cv::resize(img, resized, cv::Size(o.width, o.height), 0, 0,
             o.interpolation == "area" ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Mat rgb(o.height, o.width, CV_8UC3, out);
  cv::cvtColor(resized, rgb, cv::COLOR_BGR2RGB);
  return "";
}

std::vector<uint8_t> load_image(const std::string& path, const LoadOptions& o) {
  check_load_options(o);
  std::vector<uint8_t> out(size_t(o.height) * o.width * 3);
  const std::string why = decode_file(path, o, out.data());
  if (!why.empty()) fail(path, ": ", why);
  return out;
}

bool have_image_io() { return true; }

}  // namespace acts
