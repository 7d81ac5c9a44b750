#include "webp_animation.h"

#include <opencv2/imgproc.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/core/errors.h"

#ifdef ACTS_WITH_WEBP
#include <webp/encode.h>
#include <webp/mux.h>
#endif

namespace acts {

#ifdef ACTS_WITH_WEBP

bool have_webp_animation() { return true; }

struct WebpAnimation::Impl {
  std::string path;
  int width = 0, height = 0, frame_ms = 0, timestamp = 0;
  WebPAnimEncoder* enc = nullptr;
  WebPConfig config;
  ~Impl() {
    if (enc) WebPAnimEncoderDelete(enc);
  }
};

WebpAnimation::WebpAnimation(std::string path, int width, int height, int frame_ms) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = std::move(path);
  m.width = width;
  m.height = height;
  m.frame_ms = frame_ms;
  if (width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION)
    fail(m.path, ": a ", width, " x ", height, " picture is larger than WebP allows (", WEBP_MAX_DIMENSION,
         " pixels a side); animate a smaller --image-size model's layers, or use the PNG grids");
  WebPAnimEncoderOptions o;
  if (!WebPAnimEncoderOptionsInit(&o) || !WebPConfigInit(&m.config))
    fail(m.path, ": libwebp's version does not match its headers (internal error)");
  o.anim_params.loop_count = 0;  // forever
  o.allow_mixed = 0;
  m.config.lossless = 0;  // lossy at quality 90: within a few levels of the PNG grids (the test's bound: 6)
  m.config.quality = 90;
  m.enc = WebPAnimEncoderNew(width, height, &o);
  if (!m.enc) fail(m.path, ": cannot start a ", width, " x ", height, " WebP animation (out of memory?)");
}

WebpAnimation::~WebpAnimation() = default;

void WebpAnimation::add(const cv::Mat& bgr) {
  Impl& m = *impl_;
  if (bgr.cols != m.width || bgr.rows != m.height || bgr.type() != CV_8UC3)
    fail(m.path, ": frame of ", bgr.cols, " x ", bgr.rows, " in an animation of ", m.width, " x ", m.height,
         " (internal error)");
  const cv::Mat frame = bgr.isContinuous() ? bgr : bgr.clone();
  WebPPicture pic;
  if (!WebPPictureInit(&pic)) fail(m.path, ": WebPPictureInit failed (internal error)");
  pic.width = m.width;
  pic.height = m.height;
  pic.use_argb = 1;
  const bool ok = WebPPictureImportBGR(&pic, frame.ptr<uint8_t>(), int(frame.step)) &&
                  WebPAnimEncoderAdd(m.enc, &pic, m.timestamp, &m.config);
  WebPPictureFree(&pic);
  if (!ok) fail(m.path, ": could not encode a frame: ", WebPAnimEncoderGetError(m.enc));
  m.timestamp += m.frame_ms;
}

void WebpAnimation::commit() {
  Impl& m = *impl_;
  WebPData data;
  WebPDataInit(&data);
  if (!WebPAnimEncoderAdd(m.enc, nullptr, m.timestamp, nullptr) || !WebPAnimEncoderAssemble(m.enc, &data))
    fail(m.path, ": could not assemble the animation: ", WebPAnimEncoderGetError(m.enc));
  try {
    AtomicFile f(m.path);
    f.write(data.bytes, data.size);
    f.commit();
  } catch (...) {
    WebPDataClear(&data);
    throw;
  }
  WebPDataClear(&data);
}

#else  // built without libwebp

bool have_webp_animation() { return false; }

struct WebpAnimation::Impl {};

WebpAnimation::WebpAnimation(std::string path, int, int, int) {
  fail(path, ": this build cannot write animations (built without libwebp: install libwebp-dev and rebuild)");
}
WebpAnimation::~WebpAnimation() = default;
void WebpAnimation::add(const cv::Mat&) {}
void WebpAnimation::commit() {}

#endif

}  // namespace acts
