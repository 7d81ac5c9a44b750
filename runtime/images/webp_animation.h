// Animated WebP files, which Chromium (and every current browser) plays in an <img>: OpenCV 4.6
// writes no GIF and Chromium does not play its mp4v. Frames go to libwebp's WebPAnimEncoder as
// they come, so an animation of many frames holds only their encoded form.
#pragma once
#include <memory>
#include <opencv2/core.hpp>
#include <string>

namespace acts {

// True when this build has libwebp's animation encoder (libwebpmux); else the writer throws.
bool have_webp_animation();

class WebpAnimation {
 public:
  // Every frame is width x height; each shows for `frame_ms`, and the animation loops.
  WebpAnimation(std::string path, int width, int height, int frame_ms);
  ~WebpAnimation();
  WebpAnimation(const WebpAnimation&) = delete;
  WebpAnimation& operator=(const WebpAnimation&) = delete;
  void add(const cv::Mat& bgr);  // the next frame, BGR 8-bit, width x height
  void commit();                 // assembles and writes the file atomically; throws naming it

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace acts
