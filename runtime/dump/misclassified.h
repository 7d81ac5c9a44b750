// dump_acts --misclassified SPLIT: every photo of a split goes through the model and the ones it
// gets wrong become the dump's images, each with its heatmaps (the case that motivated issue 20:
// a dog photo called a cat with P(dogs) = 0.0001). misclassified.html lists them (html.h).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/data/dataset.h"
#include "sources.h"

namespace acts {

// SPLIT "test", "validation" or "train": that split of the checkpoint's data folder (its "data"
// metadata; `ckpt` names it in errors, `flag` the option that gave SPLIT); anything else: a folder
// with one sub-folder per class (or x.npy and y.npy), as train_gpu reads a split.
std::string split_folder(const char* flag, const std::string& split, const std::map<std::string, std::string>& meta,
                         const std::string& ckpt);

struct Misclassified {
  std::string folder;                  // where the photos came from
  size_t total = 0;                    // photos predicted
  std::vector<std::string> truth;      // per misclassified photo: its true class (the model's name)
  std::vector<std::string> predicted;  // per misclassified photo: "P(dogs) = 0.0001: cats"
};

// Predicts every photo of `d` on `be` (batches of its max_batch) and returns the misclassified
// ones, in the split's order, as the dump's inputs. `classes` names class 0 and 1.
Inputs select_misclassified(Backend& be, const Dataset& d, float scale, const std::vector<std::string>& classes,
                            Misclassified& m);

}  // namespace acts
