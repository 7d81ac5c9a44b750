// The per-epoch history of a run (Keras' History.history), its history.csv and its JSON form
// carried inside checkpoints so a resumed run continues the same history.
#pragma once
#include <string>
#include <vector>

namespace acts {

struct EpochRecord {
  int epoch = 0;  // 1-based, as Keras prints it
  double loss = 0, acc = 0, val_loss = 0, val_acc = 0, seconds = 0;  // val_*: NaN without validation
};

std::string history_csv(const std::vector<EpochRecord>& h);  // header + one row per epoch
std::string history_json(const std::vector<EpochRecord>& h);
std::vector<EpochRecord> history_from_json(const std::string& text);  // throws acts::Error

}  // namespace acts
