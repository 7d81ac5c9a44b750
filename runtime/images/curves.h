// curves.png: the tutorial's two plots side by side (training vs validation accuracy, training
// vs validation loss, by epoch; training as dots, validation as a line), drawn with OpenCV.
#pragma once
#include <string>
#include <vector>

#include "runtime/train/history.h"

namespace acts {
void write_curves_png(const std::string& path, const std::vector<EpochRecord>& history);
}
