// fit() for the command line: trains a model on a folder dataset the way Keras' fit_generator
// does in the tutorial, with Keras-like output, a run folder (history, curves, checkpoints,
// results), exact resume, and clean stops on Ctrl-C or a diverging loss.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "history.h"
#include "runtime/core/stop_request.h"  // install_stop_handlers(), for the app
#include "runtime/core/graph.h"

namespace acts {

struct KerasModel;  // runtime/keras/keras_file.h

struct TrainConfig {
  std::string data;                      // holds train/, validation/ and optionally test/
  std::string model_json;                // Keras model JSON or file (.h5, .keras); empty: the tutorial's model
  std::string model_config;              // the architecture (model JSON) of a weights-only Keras file
  int epochs = 30, steps_per_epoch = 100, validation_steps = 50, batch_size = 20;
  int image_size = 150;
  float lr = 0.f;                        // 0: a Keras --model's own (for the same optimizer), else the
                                         // optimizer's default: rmsprop 1e-4 (the tutorial's), adam 1e-3 (Keras')
  float rescale = 0.f;  // input pixels 0-255 times this (Keras' ImageDataGenerator(rescale=...)); 0: 1/255, or 1
                        // when the model's first layer is a Rescaling (it scales them itself)
  bool augment = false;
  uint64_t seed = 1;
  std::string interpolation = "nearest";
  std::string rmsprop = "keras2";        // RMSprop's rule: keras2 (the book's) or keras3 (kernels/rmsprop_rule.h)
  std::string optimizer;                 // rmsprop or adam; "": a Keras --model's when it names one of them,
                                         // else rmsprop (the tutorial's)
  std::string class_mode;                // binary | categorical | sparse (runtime/core/head.h); empty: the head's
                                         // default (binary for Dense(1, sigmoid), categorical for a softmax)
  int stats_probe = 32;                  // photos of the per-channel statistics' probe set (0: none)
  int stats_every = 0;                   // also record them every N steps (0: at epoch ends only)
  int keep_every = 0;                    // keep the weights every N epochs in epochs/ (0: no)
  // How to run (not part of the run's identity; may change on resume).
  std::string device = "auto";
  bool deterministic = true, tf32 = false, cudnn_benchmark = false;
  std::string precision = "fp32";        // fp32 or bf16 (Keras' mixed_bfloat16; BackendOptions::precision);
                                         // empty on resume: the run's own (run.json)
  int threads = 0;
  std::string out;                       // empty: runs/<timestamp>
  bool force = false;
  bool resume = false;
  std::string resume_dir;                // empty: runs/latest
  // Draws curves.png (needs OpenCV; null in builds without it).
  std::function<void(const std::string& path, const std::vector<EpochRecord>&)> plot_curves;
};

// Exit codes: 0 done, 3 diverged (NaN/Inf loss), 130 interrupted (checkpoint written).
// Bad input throws acts::Error (the app prints it and exits 1).
int train(TrainConfig cfg);

// A new run's model: the tutorial's at cfg.image_size, or cfg.model_json's (whose input size then
// becomes cfg.image_size). Errors name the JSON file and a fix that applies to it. A Keras model
// file's weights (and optimizer state, where it maps) go to `weights` when it is given.
std::unique_ptr<Graph> new_run_model(TrainConfig& cfg, KerasModel* weights = nullptr);

}  // namespace acts
