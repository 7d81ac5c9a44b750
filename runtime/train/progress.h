// Keras-style progress output for fit():
//   Epoch 3/30
//    37/100 [==========>...................] - ETA: 5s - loss: 0.6931 - acc: 0.5000      (live, tty)
//   100/100 [==============================] - 9s 90ms/step - loss: 0.6898 - acc: 0.5285 - val_loss: ...
// On a terminal the bar redraws in place (at most ~10 times a second); otherwise only the final
// line of each epoch is printed, as a log wants.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

namespace acts {

class Progress {
 public:
  Progress(int target, bool live, std::FILE* out = stdout);
  // Steps done so far in this epoch and the running means; redraws when live and due.
  void update(int done, double loss, double acc);
  // The epoch's last line, with extra "- val_loss: ..." fields appended.
  void finish(int done, double loss, double acc, const std::string& extra);
  double elapsed() const;  // seconds since construction

 private:
  std::string bar(int done) const;
  int target_;
  bool live_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  size_t last_len_ = 0;
};

std::string format_metric(const char* name, double v);  // " - loss: 0.6931"

}  // namespace acts
