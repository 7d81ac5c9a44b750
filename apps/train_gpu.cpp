// train_gpu: trains the tutorial's CNN (or a Keras model JSON) on a folder of photos, like
// Keras' fit_generator in the tutorial. Thin: flags -> TrainConfig -> acts::train().
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "apps/cli.h"
#include "runtime/backends/version.h"
#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/data/listing.h"
#include "runtime/train/export_model.h"
#include "runtime/train/trainer.h"
#ifdef ACTS_WITH_OPENCV
#include "runtime/images/curves.h"
#endif

namespace {

// Every flag of train_gpu, into c; --summary and --version (which end the program at once) into
// their own flags.
void add_options(CLI::App& app, acts::TrainConfig& c, std::string& pipeline, std::string& export_to, bool& summary,
                 bool& version) {
  app.get_formatter()->column_width(34);
  app.add_option("--data", c.data, "Dataset folder: train/, validation/ [, test/]")->check(CLI::ExistingDirectory);
  app.add_option("--epochs", c.epochs, "Epochs")->default_val(30)->check(acts::cli::whole_number(1));
  app.add_option("--steps-per-epoch", c.steps_per_epoch, "Training batches per epoch")
      ->default_val(100)->check(acts::cli::whole_number(1));
  app.add_option("--validation-steps", c.validation_steps, "Validation batches per epoch")
      ->default_val(50)->check(acts::cli::whole_number(0));
  app.add_option("--batch-size", c.batch_size, "Images per batch")->default_val(20)->check(acts::cli::whole_number(1));
  app.add_option("--optimizer", c.optimizer,
                 "rmsprop (the tutorial's) or adam (Keras 3's: beta_1 0.9, beta_2 0.999, epsilon 1e-7)")
      ->default_str("rmsprop, or a Keras --model's own")->check(CLI::IsMember({"rmsprop", "adam"}));
  app.add_option("--lr", c.lr, "Learning rate")
      ->default_str("1e-4 with rmsprop, 1e-3 with adam, or a Keras --model's own")
      ->check(acts::cli::positive_float());
  app.add_option("--rmsprop", c.rmsprop,
                 "RMSprop's rule: keras2, lr g/(sqrt(a)+1e-8), the book's Keras and PyTorch's; or keras3, "
                 "lr g/sqrt(a+1e-7), Keras 3's and tf.keras' (fits this model more slowly)")
      ->default_val("keras2")->check(CLI::IsMember({"keras2", "keras3"}));
  app.add_option("--rescale", c.rescale,
                 "Input scale: pixels 0-255 times this, as Keras' ImageDataGenerator(rescale=...); dump_acts uses "
                 "the run's")
      ->default_str("1/255, or 1 when the model's first layer is a Rescaling")
      ->transform(acts::cli::rescale_number());
  app.add_option("--image-size", c.image_size, "Input height = width (the tutorial's 150)")
      ->default_val(150)->check(acts::cli::whole_number(8, 4096));
  app.add_option("--model", c.model_json,
                 "Keras model JSON (model.to_json(): fresh weights), or a Keras model file to fine-tune (.h5, .keras; "
                 ".weights.h5 with --config); default: the tutorial's model. With --export: any model (checkpoint, "
                 "run folder, Keras file)")
      ->check(CLI::ExistingPath);
  app.add_option("--config", c.model_config, "Keras model JSON: the architecture of a weights-only --model")
      ->check(CLI::ExistingFile);
  app.add_option("--export", export_to,
                 "Write --model (default: runs/latest's final, else last, checkpoint) as a Keras file, FILE.keras "
                 "(Keras 3), FILE.h5 (Keras 2 HDF5) or FILE.weights.h5, and exit");
  app.add_flag("--augment", c.augment, "Chollet's augmentation: rotation 40, shifts/shear/zoom 0.2, flips");
  app.add_option("--seed", c.seed, "Seed for weights, shuffling, augmentation, dropout")
      ->default_val(1)->check(acts::cli::whole_number(0, 4294967295LL));
  app.add_option("--stats-probe", c.stats_probe,
                 "Photos whose per-channel statistics (stats.html, stats/*.npy) are recorded at each epoch's end: "
                 "validation photos (training ones without), drawn by --seed; 0: none")
      ->default_val(32)->check(CLI::Range(0, 4096));
  app.add_option("--stats-every", c.stats_every,
                 "Also record the channel statistics every N training steps (0: at the end of each epoch only)")
      ->default_val(0)->check(CLI::NonNegativeNumber);
  app.add_option("--keep-every", c.keep_every,
                 "Keep the weights every N epochs, as epochs/epoch_NNN.safetensors (dump_acts --model takes "
                 "them); the disk they take is printed at the start. 0: only last/best/final")
      ->default_val(0)->check(CLI::NonNegativeNumber);
  acts::cli::add_device(app, c.device, "auto (GPU if present, else CPU with a warning), cuda or cpu");
  app.add_option("--out", c.out, "Run folder (default runs/<timestamp>; runs/latest points at the newest)");
  app.add_option("--resume", c.resume_dir,
                 "Continue an interrupted run (default: runs/latest); with --epochs N to extend it, --data DIR "
                 "if its data has moved")
      ->expected(0, 1);
  app.add_flag("--force", c.force, "Reuse a non-empty --out folder, overwriting its files");
  app.add_flag("--summary", summary, "Print the model summary and exit");
  app.add_option("--precision", c.precision,
                 "fp32, or bf16: Keras' mixed_bfloat16 policy (bf16 layers, float32 weights, optimizer state and "
                 "loss); GPU: Conv2D and Dense on bf16 tensor cores; CPU: Conv2D on oneDNN's bf16 kernels where "
                 "the CPU has AVX512-BF16 or AMX, the rest rounded in software (docs/mixed-precision.md)")
      ->default_val("fp32")->check(CLI::IsMember({"fp32", "bf16", "float32", "mixed_bfloat16"}));
  app.add_flag("--tf32", c.tf32, "GPU: TF32 tensor-core math (faster, ~1e-3 relative error) instead of strict fp32");
  app.add_flag("--deterministic,!--no-deterministic", c.deterministic,
               "GPU: reproducible algorithms only (default on)");
  app.add_flag("--cudnn-benchmark", c.cudnn_benchmark,
               "GPU: time cuDNN's convolution algorithms at start and take the fastest allowed (as "
               "torch.backends.cudnn.benchmark); reruns may then differ in the last bits");
  app.add_option("--threads", c.threads, "Image decoding threads (0: all cores)")
      ->check(acts::cli::whole_number(0, 4096));
  app.add_option("--class-mode", c.class_mode,
                 "Labels and loss as flow_from_directory's class_mode: binary (2 class folders, a Dense(1, sigmoid) "
                 "head, binary cross-entropy), categorical or sparse (N class folders, a Dense(N, softmax) head, "
                 "categorical cross-entropy from one-hot or integer labels: the same loss here)")
      ->default_str("binary for a sigmoid head, categorical for a softmax head")
      ->check(CLI::IsMember({"binary", "categorical", "sparse"}));
  app.add_option("--interpolation", c.interpolation, "Resize: nearest (Keras' default), bilinear or area")
      ->default_val("nearest")->check(CLI::IsMember({"nearest", "bilinear", "area"}));
  app.add_option("--input-pipeline", pipeline,
                 "How Keras feeds the photos, for the flags not given: flow_from_directory (the tutorial's "
                 "ImageDataGenerator: batches of 20, 100 steps, 50 validation steps, nearest resize) or "
                 "image_dataset_from_directory (the second edition's: batches of 32, every photo of train/ and "
                 "validation/ once per epoch, bilinear resize)")
      ->default_val("flow_from_directory")
      ->check(CLI::IsMember({"flow_from_directory", "image_dataset_from_directory"}));
  acts::cli::add_version(app, version);
}

// A run keeps what defines it (its run.json): only --epochs (to extend it), --data (where its
// data lies now) and how it runs (device, threads, GPU math, precision) may be given again. Returns 2 after
// saying which flag may not, else -1.
int check_resume_flags(const CLI::App& app, acts::TrainConfig& c) {
  if (app.count("--out") || app.count("--force")) {
    std::fprintf(stderr, "error: --resume takes the run folder itself (--resume DIR); --out and --force start "
                         "new runs\n");
    return 2;
  }
  for (const char* flag : {"--steps-per-epoch", "--validation-steps", "--batch-size", "--lr", "--image-size", "--model",
                           "--config", "--rescale", "--augment", "--seed", "--interpolation", "--rmsprop",
                           "--optimizer", "--input-pipeline", "--class-mode", "--stats-probe", "--stats-every",
                           "--keep-every"})
    if (app.count(flag)) {
      std::fprintf(stderr, "error: %s cannot change when resuming: the run keeps the settings it started with "
                           "(its run.json); start a new run to change it\n", flag);
      return 2;
    }
  if (!app.count("--epochs")) c.epochs = 0;  // keep the run's own epoch count
  if (!app.count("--precision")) c.precision.clear();  // go on in the run's own precision
  return -1;
}

// --input-pipeline image_dataset_from_directory: Keras' tf.data loader as the second edition uses
// it (batch_size 32, bilinear resize, fit() without steps_per_epoch: a whole pass over the split
// each epoch, the last batch short) for every one of those flags not given. Its file order is
// shuffled every epoch as flow_from_directory's is (TensorFlow's own shuffle cannot be repeated),
// and its float resize is OpenCV's bilinear rounded to 0-255 integers (within one level).
void apply_input_pipeline(const CLI::App& app, const std::string& pipeline, acts::TrainConfig& c) {
  if (pipeline != "image_dataset_from_directory") return;
  if (!app.count("--batch-size")) c.batch_size = 32;
  if (!app.count("--interpolation")) c.interpolation = "bilinear";
  const auto passes = [&](const char* split) {  // batches in one pass over DATA/split
    const size_t n = acts::list_class_folders(c.data + "/" + split, 0).files.size();  // the head checks the count
    return int((n + size_t(c.batch_size) - 1) / size_t(c.batch_size));
  };
  if (!app.count("--steps-per-epoch")) c.steps_per_epoch = passes("train");
  if (!app.count("--validation-steps")) c.validation_steps = passes("validation");
  std::printf("Input pipeline: image_dataset_from_directory: batches of %d, %d steps and %d validation steps per "
              "epoch, %s resize\n", c.batch_size, c.steps_per_epoch, c.validation_steps, c.interpolation.c_str());
}

// After a good parse: --version, --summary, the flags that exclude each other, then the run.
// Returns the exit code; bad input throws.
int run(const CLI::App& app, acts::TrainConfig& c, const std::string& pipeline, const std::string& export_to,
        bool summary, bool version) {
  if (version) return acts::cli::print_version("train_gpu");
  if (!export_to.empty()) {
    for (const char* flag : {"--data", "--resume", "--summary", "--out"})
      if (app.count(flag)) {
        std::fprintf(stderr, "error: --export converts a model and exits; it takes --model (and --config), not %s\n",
                     flag);
        return 2;
      }
    const std::string from = acts::export_model(c.model_json, c.model_config, export_to);
    std::printf("Wrote %s from %s\n", export_to.c_str(), from.c_str());
    return 0;
  }
  if (!c.model_json.empty() && app.count("--image-size")) {
    std::fprintf(stderr, "error: --image-size and --model exclude each other: %s sets the input size itself "
                         "(batch_input_shape); drop --image-size or edit the JSON\n", c.model_json.c_str());
    return 2;
  }
  if (summary) {
    std::printf("%s", acts::new_run_model(c)->summary().c_str());
    return 0;
  }
  c.resume = app.count("--resume") > 0;
  if (c.resume) {
    if (const int code = check_resume_flags(app, c); code >= 0) return code;
  } else if (c.data.empty()) {
    std::fprintf(stderr, "error: --data DIR is required (a folder with train/ and validation/); see --help\n");
    return 2;
  } else {
    apply_input_pipeline(app, pipeline, c);
  }
#ifdef ACTS_WITH_OPENCV
  c.plot_curves = acts::write_curves_png;
#else
  std::fprintf(stderr, "note: built without OpenCV: curves.png is not drawn (history.csv is written, "
                       "one row per epoch, for any plotting tool)\n");
#endif
  acts::install_stop_handlers();
  return acts::train(c);
}

}  // namespace

int main(int argc, char** argv) {
  acts::TrainConfig c;
  bool summary = false, version = false;
  std::string export_to, pipeline;
  CLI::App app{"Train the Keras tutorial's CNN (or a Keras model JSON) on photos in class folders.\n"
               "DIR holds train/ and validation/ (and optionally test/), each with one folder per class.",
               "train_gpu"};
  add_options(app, c, pipeline, export_to, summary, version);
  if (const int code = acts::cli::parse(app, argc, argv); code >= 0) return code;
  try {
    return run(app, c, pipeline, export_to, summary, version);
  } catch (const acts::BadFile& e) {  // a model file that cannot be used as it is
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const acts::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {  // outside the run itself (train() names the run's sizes)
    std::fprintf(stderr, "error: out of memory; lower --batch-size or --image-size, or free memory\n");
    return 1;
  } catch (const std::exception& e) {  // a library's own exception (the filesystem, JSON): one line too
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    std::fprintf(stderr, "error: internal: %s\n", msg.c_str());
    return 1;
  }
}
