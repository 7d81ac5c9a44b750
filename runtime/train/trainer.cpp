#include "trainer.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>

#include "epoch_loop.h"
#include "run.h"
#include "run_dir.h"
#include "runtime/core/atomic_file.h"
#include "runtime/core/backend.h"
#include "runtime/core/checkpoint.h"
#include "runtime/core/errors.h"
#include "runtime/core/head.h"
#include "runtime/core/stop_request.h"
#include "runtime/data/dataset.h"
#include "runtime/keras/keras_file.h"
#include "runtime/ops/op.h"

namespace acts {
using json = nlohmann::json;

namespace {

using training::ChannelStats;
using training::Ending;
using training::EpochLoop;
using training::identity;
using training::Run;
using training::State;
using training::to_batch;

RmspropRule rmsprop_rule(const std::string& name) {
  if (name == "keras2") return RmspropRule::kKeras2;
  if (name == "keras3") return RmspropRule::kKeras3;
  fail("RMSprop rule '", name, "' is neither keras2 nor keras3");
}

Optimizer optimizer_kind(const std::string& name) {
  if (name == "rmsprop") return Optimizer::kRmsprop;
  if (name == "adam") return Optimizer::kAdam;
  fail("optimizer '", name, "' is neither rmsprop nor adam");
}

void restore_identity(TrainConfig& c, const json& j) {
  const std::string moved = c.data;  // --data on resume: where the run's data lies now
  c.data = j.at("data");
  if (!moved.empty() && moved != c.data) {
    char real[4096];
    c.data = realpath(moved.c_str(), real) ? real : moved;
    std::printf("Data: %s (the run started on %s)\n", c.data.c_str(), j.at("data").get<std::string>().c_str());
  }
  c.model_json = j.at("model_json");
  c.steps_per_epoch = j.at("steps_per_epoch");
  c.validation_steps = j.at("validation_steps");
  c.batch_size = j.at("batch_size");
  c.image_size = j.at("image_size");
  c.lr = j.at("lr");
  c.rescale = j.value("rescale", 1.f / 255.f);  // runs from before the option rescaled by 1/255
  c.augment = j.at("augment");
  c.seed = j.at("seed");
  c.interpolation = j.at("interpolation");
  c.rmsprop = j.value("rmsprop", "keras2");  // runs from before the option used Keras 2's rule
  c.class_mode = j.value("class_mode", "");   // runs from before the option: the head's default
  c.stats_probe = j.value("stats_probe", 32);
  c.stats_every = j.value("stats_every", 0);
  c.keep_every = j.value("keep_every", 0);
  rmsprop_rule(c.rmsprop);
  c.optimizer = j.value("optimizer", "rmsprop");  // runs from before Adam trained with RMSprop
  optimizer_kind(c.optimizer);
  if (c.epochs <= 0) c.epochs = j.at("epochs");  // --epochs on resume may extend the run
  // How the run computes: its own precision unless the resume names one (runs from before the
  // option computed in fp32). A change is said, and the next checkpoints record it.
  const std::string was = precision_name(parse_precision(j.value("precision", "fp32")));
  if (c.precision.empty()) c.precision = was;
  const std::string now = precision_name(parse_precision(c.precision));
  if (now != was)
    std::printf("Precision: %s from here on (the run computed in %s until now)\n", now.c_str(), was.c_str());
}

// Where a resumed run stands, from its last checkpoint (c) and its settings (cfg, restored).
State restore_state(const Checkpoint& c, const TrainConfig& cfg, int run_epochs, const std::string& file) {
  // Each field parsed whole and range-checked (checkpoint.h): an edited or damaged file is refused
  // by name, never trained from ("Epoch -4/2").
  constexpr long long kMany = 1LL << 62;
  State s;
  s.epoch = int(meta_int(c, "epoch", file, 0, run_epochs));
  s.step = int(meta_int(c, "step", file, 0, cfg.steps_per_epoch));
  s.partial.count = long(meta_int(c, "count", file, 0, (long long)(cfg.steps_per_epoch) * cfg.batch_size));
  s.partial.loss_sum = meta_real(c, "loss_sum", file, 0);
  s.partial.correct = meta_real(c, "correct", file, 0, double(s.partial.count));
  s.train_batches = uint64_t(meta_int(c, "train_batches", file, 0, kMany));
  s.val_batches = uint64_t(meta_int(c, "val_batches", file, 0, kMany));
  s.best_val_acc = meta_real(c, "best_val_acc", file, -1, 1);
  meta_int(c, "backend_step", file, 0, kMany);
  s.history = history_from_json(meta_text(c, "history", file));
  if (s.history.size() != size_t(s.epoch))
    fail(file, ": training state 'history' holds ", s.history.size(), " epochs, not ", s.epoch, "; the file was "
         "damaged or edited and cannot be resumed (put an intact copy back, or start a new run)");
  return s;
}

Dataset load_split_checked(const std::string& root, const char* split, const LoadOptions& o) {
  const std::string dir = root + "/" + split;
  if (!is_dir(dir))
    fail(dir, ": missing; --data needs a folder with train/ and validation/ (each with one sub-folder per class), "
         "e.g. made by scripts/data/make_split.py");
  Dataset d = load_split(dir, o);
  std::printf("%s\n", found_message(d).c_str());
  if (d.skipped) std::printf("(%zu unreadable files in %s were skipped)\n", d.skipped, dir.c_str());
  return d;
}

// Ctrl-C before the first training step (while the photos decode): nothing was trained, so no
// checkpoint is written; a new run takes its folder back with it, a resumed one is as it was.
int stopped_before_training(Run& r, const LoadStopped* loading = nullptr) {
  const std::string when = loading ? ", while decoding " + loading->dir + " (" + std::to_string(loading->decoded) +
                                         " of " + std::to_string(loading->total) + " photos decoded)"
                                   : "";
  if (r.cfg.resume) {
    std::printf("\nInterrupted before training%s: nothing was trained in this session and %s is as it was; continue "
                "with: train_gpu --resume %s\n", when.c_str(), r.dir.c_str(), r.dir.c_str());
  } else {
    const std::string left = discard_new_run_dir(r.made, r.lock) ? r.dir + " was removed"
                                                                  : r.dir + " holds no checkpoint (it counts as empty)";
    std::printf("\nInterrupted before training%s: nothing was trained yet and %s; start the run again with the same "
                "command\n", when.c_str(), left.c_str());
  }
  return 130;
}

}  // namespace

std::unique_ptr<Graph> new_run_model(TrainConfig& cfg, KerasModel* weights) {
  if (cfg.model_json.empty()) return std::make_unique<Graph>(tutorial_model(cfg.image_size));
  ModelSpec spec;
  if (is_keras_model_file(cfg.model_json)) {  // fine-tuning a model Keras trained
    KerasReadOptions o;
    o.config_json = cfg.model_config;
    KerasModel k = load_keras_model(cfg.model_json, o);  // names the file itself
    spec = k.ckpt.model;
    if (weights) *weights = std::move(k);
  } else {
    if (!cfg.model_config.empty())
      fail("--config ", cfg.model_config, ": only a weights-only Keras --model takes an architecture; ", cfg.model_json,
           " is one itself; drop --config");
    spec = load_keras_json(cfg.model_json);  // names the file itself
  }
  for (const LayerSpec& l : spec.layers)
    if (!is_trainable(l))  // a model file this app cannot use as it is: exit 2, like an unsupported layer
      throw BadFile(cfg.model_json + ": layer " + l.name + " is frozen (trainable: false), and train_gpu trains every "
                    "layer; set trainable = True in Keras and save the model again (dump_acts runs it as it is)");
  try {
    if (spec.height != spec.width) fail("model input must be square (", spec.height, "x", spec.width, ")");
    if (spec.channels != 3) fail("model input must have 3 channels (RGB photos), not ", spec.channels);
    if (spec.height > 4096)
      fail("model input ", spec.height, "x", spec.width, " is larger than --image-size allows (4096)");
    auto g = std::make_unique<Graph>(spec);
    cfg.image_size = spec.height;
    return g;
  } catch (const Error& e) {  // the Graph's checks know neither the file nor that its input size is fixed
    std::string m = e.what();
    const std::string cli_fix = "use a larger --image-size";
    if (m.size() >= cli_fix.size() && m.compare(m.size() - cli_fix.size(), cli_fix.size(), cli_fix) == 0)
      m.replace(m.size() - cli_fix.size(), cli_fix.size(), "give the model a larger input (batch_input_shape)");
    fail(cfg.model_json, ": ", m);
  }
}

namespace {

// --resume, first step: the run's folder locked, a killed process's unfinished files removed, and
// its last.safetensors loaded.
std::unique_ptr<Checkpoint> load_last_checkpoint(Run& r, const TrainConfig& cfg) {
  r.dir = resolve_run_dir(cfg.resume_dir);  // the real folder, not runs/latest
  r.lock.acquire(r.dir, "wait for it to end, or start a separate run with --out");
  if (const size_t n = remove_stale_temporaries(r.dir))
    std::printf("Removed %zu unfinished file%s of a process that was killed\n", n, n == 1 ? "" : "s");
  const std::string last = r.dir + "/last.safetensors";
  if (!exists(last))
    fail(r.dir, ": has no checkpoint yet (last.safetensors; the run stopped before its first epoch ended); start "
         "the run again with --out ", r.dir, ", which reuses the folder");
  return std::make_unique<Checkpoint>(load_checkpoint(last));
}

// The settings the run was started with (the checkpoint's train_config) put back into cfg;
// returns the run's own number of epochs. A damaged train_config is refused by name.
int restore_settings(TrainConfig& cfg, const Checkpoint& ckpt, const std::string& last) {
  int run_epochs = 0;
  try {
    const json settings = json::parse(ckpt.meta.at("train_config"));
    run_epochs = settings.at("epochs");
    restore_identity(cfg, settings);
  } catch (const std::exception& e) {  // a missing key, a value of the wrong type, JSON that does not parse
    fail(last, ": its training settings (train_config) are damaged (", e.what(), "); it cannot be resumed (put an "
         "intact copy back, or start a new run)");
  }
  if (run_epochs < 1 || cfg.steps_per_epoch < 1 || cfg.validation_steps < 0 || cfg.batch_size < 1 ||
      cfg.image_size < 8 || cfg.image_size > 4096)
    fail(last, ": its training settings (train_config) are out of range; it cannot be resumed (put an intact copy "
         "back, or start a new run)");
  return run_epochs;
}

// --resume: the run's folder, settings (into cfg), state (s) and last checkpoint (ckpt). Ends
// with 0 when the run has finished its epochs already: nothing to resume.
Ending open_resumed_run(TrainConfig& cfg, Run& r, State& s, std::unique_ptr<Checkpoint>& ckpt) {
  ckpt = load_last_checkpoint(r, cfg);
  const std::string last = r.dir + "/last.safetensors";
  const int asked_epochs = cfg.epochs;  // --epochs given again, or 0
  const int run_epochs = restore_settings(cfg, *ckpt, last);
  s = restore_state(*ckpt, cfg, run_epochs, last);
  if (asked_epochs > 0 && asked_epochs < s.epoch)
    fail("--epochs ", asked_epochs, ": ", r.dir, " has trained ", s.epoch, " epochs already; give --epochs above ",
         s.epoch, " to train it longer, or leave --epochs out to finish its own ", run_epochs);
  if (s.epoch >= cfg.epochs && exists(r.dir + "/results.json")) {
    std::printf("%s finished its %d epochs (results.json): nothing to resume; to train it longer: train_gpu "
                "--resume %s --epochs %d\n", r.dir.c_str(), s.epoch, r.dir.c_str(), s.epoch + 1);
    return 0;
  }
  if (!is_dir(cfg.data))
    fail(cfg.data, ": the run's data folder is gone; if it moved, resume with --data pointing at its new place");
  r.spec = ckpt->model;
  std::printf("Resuming %s at epoch %d, step %d\n", r.dir.c_str(), s.epoch + 1, s.step);
  return {};
}

// The optimizer and learning rate of a new run: --optimizer/--lr where given, else a Keras
// --model's compile config where it names RMSprop or Adam (and, for that optimizer, its learning
// rate), else RMSprop and each optimizer's default rate. A Keras file's state that belongs to
// another optimizer is dropped. Says in one line what the file asked for and what is used.
void choose_optimizer(TrainConfig& cfg, KerasModel& keras) {
  const bool from_file = !keras.ckpt.params.empty();
  std::string file_opt;  // the file's optimizer, when it is one train_gpu runs
  if (keras.optimizer == "RMSprop") file_opt = "rmsprop";
  if (keras.optimizer == "Adam") file_opt = "adam";
  const auto lr_it = keras.ckpt.meta.find("keras_learning_rate");
  const double file_lr = lr_it == keras.ckpt.meta.end() ? 0 : std::strtod(lr_it->second.c_str(), nullptr);
  const bool asked_optimizer = !cfg.optimizer.empty(), asked_lr = cfg.lr > 0;
  if (!asked_optimizer) cfg.optimizer = file_opt.empty() ? "rmsprop" : file_opt;
  if (!asked_lr) {
    if (file_lr > 0 && cfg.optimizer == file_opt) cfg.lr = float(file_lr);
    else cfg.lr = cfg.optimizer == "adam" ? 1e-3f : 1e-4f;
  }
  const auto state_it = keras.ckpt.meta.find("optimizer");
  if (!keras.ckpt.opt_state.empty() && (state_it == keras.ckpt.meta.end() || state_it->second != cfg.optimizer)) {
    keras.ckpt.opt_state.clear();  // another optimizer's state means nothing to this one
    keras.opt_note += "; not used: training with " + cfg.optimizer + " (--optimizer), which starts fresh";
  }
  if (!from_file || (keras.optimizer.empty() && file_lr <= 0)) return;
  char asked[200];
  if (file_lr > 0)
    std::snprintf(asked, sizeof asked, "%s, learning rate %g", keras.optimizer.empty() ? "an unnamed optimizer"
                                                                                        : keras.optimizer.c_str(),
                  file_lr);
  else
    std::snprintf(asked, sizeof asked, "%s", keras.optimizer.c_str());
  const char* why_optimizer = asked_optimizer ? "--optimizer" : file_opt.empty() ? "the default" : "the file's";
  const char* why_lr = asked_lr ? "--lr" : cfg.optimizer == file_opt && file_lr > 0 ? "the file's" : "the default";
  std::printf("%s was compiled with %s; training with %s (%s), lr %g (%s)\n", cfg.model_json.c_str(), asked,
              cfg.optimizer.c_str(), why_optimizer, double(cfg.lr), why_lr);
}

// The class mode of a new run: --class-mode where given, else the one a Keras --model's compiled
// loss implies (sparse for sparse_categorical_crossentropy) where it fits the head, else the
// head's default. Says in one line what the file was compiled with and what is used;
// check_classes() holds the mode to the head and the folders.
void choose_class_mode(TrainConfig& cfg, const KerasModel& keras, const Graph& g) {
  if (keras.loss.empty()) return;
  ClassMode file_mode = ClassMode::kBinary;
  const bool known = class_mode_of_loss(keras.loss, &file_mode);
  const bool fits = known && (file_mode == ClassMode::kBinary) == (head_kind(g) == HeadKind::kSigmoid);
  const bool asked = !cfg.class_mode.empty();
  if (!asked && fits) cfg.class_mode = class_mode_name(file_mode);
  std::string used = asked ? cfg.class_mode + " (--class-mode)" : fits ? cfg.class_mode + " (the file's)" : "";
  if (used.empty())
    used = std::string(class_mode_name(default_class_mode(g))) + " (the head's default: " +
           (known ? "the file's loss does not fit the last layer " + g.nodes().back().spec.name
                  : std::string("train_gpu trains with binary or categorical cross-entropy only")) + ")";
  const std::string args =
      keras.loss_args.empty() ? "" : " (" + keras.loss_args + ": not taken, train_gpu's losses read the head's output)";
  std::printf("%s was compiled with loss %s%s; class mode %s\n", cfg.model_json.c_str(), keras.loss.c_str(),
              args.c_str(), used.c_str());
}

// A new run: its settings checked, its model built (cfg.image_size follows a model JSON's input)
// and its folder made, locked and given run.json.
void open_new_run(TrainConfig& cfg, Run& r) {
  if (cfg.epochs <= 0 || cfg.steps_per_epoch <= 0 || cfg.validation_steps < 0 || cfg.batch_size <= 0)
    fail("--epochs, --steps-per-epoch and --batch-size must be positive, --validation-steps not negative");
  if (!is_dir(cfg.data))
    fail(cfg.data, ": no such data folder; give --data a folder with train/ and validation/ inside");
  KerasModel keras;
  r.graph = new_run_model(cfg, &keras);  // a model that does not fit the image size fails before the folder
  choose_optimizer(cfg, keras);
  choose_class_mode(cfg, keras, *r.graph);
  if (cfg.rescale <= 0) {
    cfg.rescale = rescales_its_input(r.graph->spec()) ? 1.f : 1.f / 255.f;
    if (cfg.rescale == 1.f)
      std::printf("Input: pixels 0-255 as they are (the model's Rescaling layer scales them; --rescale to "
                  "change)\n");
  }
  if (!keras.ckpt.params.empty()) {
    if (cfg.optimizer == "adam")
      std::printf("Fine-tuning %s: %s; optimizer: %s\n", cfg.model_json.c_str(), keras.format.c_str(),
                  keras.opt_note.c_str());
    else
      std::printf("Fine-tuning %s: %s; optimizer: %s; RMSprop rule %s (--rmsprop)\n", cfg.model_json.c_str(),
                  keras.format.c_str(), keras.opt_note.c_str(), cfg.rmsprop.c_str());
    r.initial = std::make_unique<Checkpoint>(std::move(keras.ckpt));
  }
  r.spec = r.graph->spec();
  r.made = prepare_run_dir(cfg.out.empty() ? default_run_dir("runs") : cfg.out, cfg.force, r.lock);
  r.dir = r.made.path;
  char real[4096];
  if (realpath(cfg.data.c_str(), real)) cfg.data = real;  // checkpoints must find the data from anywhere
  write_file_atomic(r.dir + "/" + kRunMarker, identity(cfg).dump(2) + "\n");
}

// The graph of the run's model (a resumed run's must match its checkpoint), shown as Keras'
// summary before the photos decode.
void build_graph(Run& r, const Checkpoint* ckpt) {
  if (!r.graph) r.graph = std::make_unique<Graph>(r.spec);
  if (ckpt) check_same_architecture(*ckpt, *r.graph, r.dir + "/last.safetensors");
  std::printf("%s", r.graph->summary().c_str());
  std::fflush(stdout);  // a log shows the model while the photos decode
}

// Decodes the splits. Ends with 130 when Ctrl-C stops the decoding (nothing trained, nothing kept).
Ending load_splits(Run& r) {
  const TrainConfig& cfg = r.cfg;
  LoadOptions lo;
  lo.height = lo.width = cfg.image_size;
  lo.interpolation = cfg.interpolation;
  lo.threads = cfg.threads;
  lo.classes = 0;  // any number of class folders: check_classes holds them against the model's head
  lo.warn = [](const std::string& m) { std::fprintf(stderr, "warning: %s\n", m.c_str()); };
  lo.stop = [] { return stop_requested() != 0; };  // decoding thousands of photos takes seconds
  try {
    r.train = load_split_checked(cfg.data, "train", lo);
    r.val = load_split_checked(cfg.data, "validation", lo);
    r.has_test = is_dir(cfg.data + "/test");
    if (r.has_test) r.test = load_split_checked(cfg.data, "test", lo);
  } catch (const LoadStopped& e) {
    return stopped_before_training(r, &e);
  }
  return {};
}

// Labels are class indices in sorted order: other folder names would silently mean other classes.
// Every split, and a resumed run's data, must name its classes as train/ does.
void check_classes(const Run& r, const Checkpoint* ckpt) {
  const std::string& data = r.cfg.data;
  auto same_classes = [&](const Dataset& d, const char* split) {
    if (d.classes != r.train.classes)
      fail(data, "/", split, ": its classes (", json(d.classes).dump(), ") are not train/'s (",
           json(r.train.classes).dump(), "); name the class folders of every split alike");
  };
  const ClassMode mode = r.cfg.class_mode.empty() ? default_class_mode(*r.graph)
                                                 : parse_class_mode(r.cfg.class_mode, "--class-mode");
  check_class_mode(*r.graph, mode, r.train.classes.size(), data + "/train");
  if (head_kind(*r.graph) == HeadKind::kSoftmax)  // binary runs print what they always printed
    std::printf("Class mode %s: %s, %s over %zu classes\n", class_mode_name(mode), loss_name(mode),
                accuracy_name(mode), r.train.classes.size());
  same_classes(r.val, "validation");
  if (r.has_test) same_classes(r.test, "test");
  if (ckpt && ckpt->meta.count("classes") && json::parse(ckpt->meta.at("classes")) != json(r.train.classes))
    fail(data, ": its classes ", json(r.train.classes).dump(), " are not the run's ", ckpt->meta.at("classes"),
         "; resume with --data pointing at the run's own data");
}

// The backend (--device) with the run's weights: a resumed run's parameters, optimizer state and
// step from its checkpoint, a new run's initialised from the seed.
void start_backend(Run& r, const Checkpoint* ckpt) {
  const TrainConfig& cfg = r.cfg;
  BackendOptions bo;
  bo.max_batch = cfg.batch_size;
  bo.lr = cfg.lr;
  bo.rmsprop_rule = rmsprop_rule(cfg.rmsprop);
  bo.eps = bo.rmsprop_rule == RmspropRule::kKeras3 ? 1e-7f : 1e-8f;  // each side's default epsilon
  bo.optimizer = optimizer_kind(cfg.optimizer);
  if (bo.optimizer == Optimizer::kAdam) bo.eps = 1e-7f;  // Keras' Adam (kernels/adam_rule.h)
  bo.seed = cfg.seed;
  bo.deterministic = cfg.deterministic;
  bo.tf32 = cfg.tf32;
  bo.precision = parse_precision(cfg.precision);
  bo.conv_search = cfg.cudnn_benchmark;
  std::string warning;
  r.backend = make_backend(cfg.device, *r.graph, bo, &warning);
  if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
  std::printf("Training on %s\n", r.backend->name().c_str());
  if (ckpt) {
    r.backend->set_params(ckpt->params);
    r.backend->set_opt_state(ckpt->opt_state);
    const std::string last = r.dir + "/last.safetensors";
    r.backend->set_step(uint64_t(meta_int(*ckpt, "backend_step", last, 0, 1LL << 62)));
    // Checkpoints from before Adam counted no iterations: RMSprop does not use them.
    const char* iterations = ckpt->meta.count("optimizer_iterations") ? "optimizer_iterations" : "backend_step";
    r.backend->set_opt_iterations(uint64_t(meta_int(*ckpt, iterations, last, 0, 1LL << 62)));
  } else if (r.initial) {  // a Keras file's weights (new_run_model)
    r.backend->set_params(r.initial->params);
    if (!r.initial->opt_state.empty()) {
      r.backend->set_opt_state(r.initial->opt_state);
      if (r.initial->meta.count("optimizer_iterations"))
        r.backend->set_opt_iterations(std::stoull(r.initial->meta.at("optimizer_iterations")));
    }
  } else {
    r.backend->set_params(init_params(*r.graph, cfg.seed));
  }
}

// results.json's metrics of the training: epochs, best val_acc, the last epoch's metrics.
json training_results(const State& s, bool validated) {
  json results = {{"epochs", s.history.size()}, {"best_val_acc", validated ? json(s.best_val_acc) : json(nullptr)}};
  if (!s.history.empty()) {
    const EpochRecord& last = s.history.back();
    results["final"] = {{"loss", last.loss}, {"acc", last.acc}};
    if (validated) {
      results["final"]["val_loss"] = last.val_loss;
      results["final"]["val_acc"] = last.val_acc;
    }
  }
  return results;
}

// The trained model on the whole test split, in order, into results["test"]. Ends with 130 on
// Ctrl-C: last.safetensors holds the trained model, so --resume runs only this evaluation again.
Ending evaluate_test(Run& r, json& results) {
  const TrainConfig& cfg = r.cfg;
  BatchIterator test_it(r.test, cfg.batch_size, false, cfg.seed);
  const size_t steps = (r.test.size() + size_t(cfg.batch_size) - 1) / size_t(cfg.batch_size);
  for (size_t i = 0; i < steps; ++i) {
    pause_point("test-evaluation");
    if (stop_requested()) {
      r.writer.flush();
      std::printf("Interrupted during the test evaluation (%zu of %zu batches done): the trained model is in "
                  "%s/final.safetensors; finish the evaluation (results.json) with: train_gpu --resume %s\n", i,
                  steps, r.dir.c_str(), r.dir.c_str());
      return 130;
    }
    r.backend->eval_step(to_batch(test_it.next(), cfg.rescale));
  }
  const Metrics tm = r.backend->take_metrics();
  std::printf("test_loss: %.4f - test_acc: %.4f (%ld images)\n", tm.loss(), tm.acc(), tm.count);
  results["test"] = {{"loss", tm.loss()}, {"acc", tm.acc()}, {"images", tm.count}};
  return {};
}

// After the last epoch: the test evaluation, results.json, and the run's last line once every
// checkpoint is on disk.
int report_results(Run& r, const State& s) {
  json results = training_results(s, r.cfg.validation_steps > 0);
  if (r.has_test && r.test.size() > 0) {
    if (const Ending e = evaluate_test(r, results)) return *e;
  }
  // The checkpoints and model.keras are on disk before results.json says the run is done: a run
  // killed before then resumes to write them.
  r.writer.flush();
  write_file_atomic(r.dir + "/results.json", results.dump(2) + "\n");
  std::printf("Run folder: %s\n", r.dir.c_str());
  return 0;
}

// What the run keeps beside its checkpoints: the channel statistics (a new run's first record is
// the network as it starts; a resumed run reads its records back) and, with --keep-every, the
// weights of every N-th epoch, whose disk cost is said before any is written.
void start_records(Run& r, const State& s) {
  const TrainConfig& cfg = r.cfg;
  r.stats = std::make_unique<ChannelStats>(*r.graph, r.train, r.val, cfg.stats_probe, cfg.seed, cfg.rescale);
  if (cfg.resume) r.stats->resume(r.dir, s.epoch + 1, s.step);
  else r.record_stats(0, 0);
  if (cfg.keep_every <= 0) return;
  const int kept = cfg.epochs / cfg.keep_every;
  const double mb = (4.0 * double(r.graph->param_count()) + 65536) / 1e6;  // the tensors and a header's room
  std::printf("Keeping the weights every %d epoch%s in %s/epochs: %d file%s of %.1f MB, %.0f MB in all\n",
              cfg.keep_every, cfg.keep_every == 1 ? "" : "s", r.dir.c_str(), kept, kept == 1 ? "" : "s", mb, mb * kept);
}

// The whole run; cfg is the caller's so that train() can name the run's own sizes (restored on
// --resume) when memory runs out.
int train_run(TrainConfig& cfg) {
  Run r;
  State s;
  std::unique_ptr<Checkpoint> ckpt;  // a resumed run's last.safetensors
  if (cfg.resume) {
    if (const Ending e = open_resumed_run(cfg, r, s, ckpt)) return *e;
  } else {
    open_new_run(cfg, r);
  }
  r.cfg = cfg;
  build_graph(r, ckpt.get());
  if (const Ending e = load_splits(r)) return *e;
  check_classes(r, ckpt.get());
  start_backend(r, ckpt.get());
  start_records(r, s);
  EpochLoop epochs(r, s);
  if (stop_requested()) return stopped_before_training(r);
  // runs/latest names this run once its data and device are ready, not a start that failed on them.
  if (!cfg.resume) {
    r.latest.mark = mark_latest(r.dir);
    r.latest.last = r.dir + "/last.safetensors";
  }
  if (const Ending e = epochs.run()) return *e;
  if (!keras_files_supported()) std::printf("note: model.keras not written: %s\n", keras_files_missing().c_str());
  r.save_final(epochs.done());
  return report_results(r, s);
}

}  // namespace

int train(TrainConfig cfg) {
  try {
    return train_run(cfg);
  } catch (const std::bad_alloc&) {  // the run (its activations, images, checkpoints) is freed by now
    const std::string model = cfg.model_json.empty() ? "" : " of the model " + cfg.model_json;
    fail("out of memory training on batches of ", cfg.batch_size, " images of ", cfg.image_size, "x", cfg.image_size,
         model, "; start a run with a smaller --batch-size, --image-size", model.empty() ? "" : " or model",
         ", or free memory");
  }
}

}  // namespace acts
