// dump_acts: what each layer of a trained model sees (the tutorial's activation pictures).
// Thin: flags -> DumpConfig -> acts::dump_activations(); the pictures come from acts_images
// when the build has OpenCV, else only the NPY files are written.
#include "apps/cli.h"
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "runtime/dump/dump.h"
#include "runtime/core/errors.h"

#ifdef ACTS_WITH_OPENCV
#include "runtime/images/feature_maps.h"
#include "runtime/images/heatmaps.h"
#endif

namespace {

const char* kDescription =
    "Run images through a trained model and save what each layer outputs.\n"
    "Defaults (right after `train_gpu --data DIR`): the model of runs/latest (final.safetensors, else\n"
    "last.safetensors), the first test image (else validation image) of the data folder it was trained\n"
    "on, the tutorial's first 8 layers, output in acts/.\n\n"
    "Output (OUT = --out):\n"
    "  OUT/NAME.npy     float32 (N, H, W, C) or (N, F) as Keras' model.predict returns it; row i is\n"
    "                   image i in the order given (folders: sorted, sub-folders Keras' way);\n"
    "                   np.load('acts/conv2d_1.npy')[0, :, :, 6] is the tutorial's channel 6\n"
    "  OUT/images.txt   the images, one per line, in row order\n"
    "  one image:       OUT/input.png (the preprocessed input), OUT/NAME.png (every channel, 16 per\n"
    "                   row, normalised as in Chollet's notebook, viridis; Flatten/Dense as a strip),\n"
    "                   OUT/NAME_chK.png (--channel K alone, min-max scaled), OUT/index.html\n"
    "  several images:  the same pictures per image in OUT/<image-stem>/ with an index.html each,\n"
    "                   and OUT/index.html linking them\n"
    "Where the model looks (--cam, --saliency, --smoothgrad; per class) and what filters respond to\n"
    "(--filters); without --layer/--all these come alone, with them beside the activations:\n"
    "  OUT/cam_METHOD.npy        float32 (N, classes, h, w) at --cam-layer's resolution, in [0, 1];\n"
    "                            classes in --class order (default 0, 1)\n"
    "  OUT/saliency.npy, smoothgrad.npy   float32 (N, classes, H, W) at the model input's size\n"
    "  per image (OUT/ for one, OUT/<image-stem>/ for several): cam_METHOD_CLASS.npy (H, W) at the\n"
    "                            photo's own size (bilinear) and .png, the book's overlay (jet x 0.4 +\n"
    "                            photo); saliency_CLASS.*, smoothgrad_CLASS.* the same; index.html shows\n"
    "                            them beside the input with each class's score and probability\n"
    "  OUT/filters_LAYER.npy     float32 (F, H, W, 3) in [0, 1]; filters_LAYER.png the book's grid\n"
    "  OUT/misclassified.html    --misclassified: the photos the model gets wrong, with heatmaps\n"
    "Which photos excite each channel most (--top N over --data, alone):\n"
    "  OUT/top_LAYER.npy         float32 (channels, N): each channel's peaks on its top images, best first\n"
    "  OUT/top_LAYER.json        per channel: image, peak, position and receptive-field box in input pixels\n"
    "  OUT/top_LAYER.html        the crops, a row per channel; OUT/top_images/ each photo with its boxes\n"
    "Builds without OpenCV write the NPY files and images.txt only (images given as .npy).\n"
    "More: docs/dump_acts.md, docs/heatmaps.md";

// The heatmap, saliency and filter flags (issue 20; docs/heatmaps.md).
void add_explain_options(CLI::App& app, acts::DumpConfig& c) {
  app.add_option("--cam", c.cams,
                 "Heatmaps of where the model looks for each class: gradcam (the book's), gradcam++, layercam, "
                 "scorecam, gradcam-sum (tf-keras-vis' Gradcam), or all")
      ->expected(1, -1)
      ->delimiter(',');
  app.add_option("--cam-layer", c.cam_layer, "The (H, W, C) layer of the heatmaps (default: the last conv layer)");
  app.add_option("--class", c.cam_classes,
                 "Classes of the heatmaps and saliency: names (--classes) or indices (default: every class)")
      ->expected(1, -1)
      ->delimiter(',');
  app.add_flag("--saliency", c.saliency, "Vanilla saliency: |d score / d pixel|, max over colours, per class");
  app.add_option("--smoothgrad", c.smoothgrad, "SmoothGrad with N noisy copies of each image")
      ->check(acts::cli::whole_number(1, 10000));
  app.add_option("--smoothgrad-noise", c.smoothgrad_noise, "SmoothGrad's noise, a fraction of the input's range")
      ->default_val(0.2f)
      ->check(acts::cli::positive_float());
  app.add_option("--filters", c.filters,
                 "Layers whose filter patterns to draw (gradient ascent from grey noise, every filter)")
      ->expected(1, -1)
      ->delimiter(',');
  app.add_option("--filter-steps", c.filter_steps, "Gradient-ascent steps of the filter patterns")
      ->default_val(40)
      ->check(acts::cli::whole_number(1, 100000));
  app.add_option("--filter-eps", c.filter_eps,
                 "Added to the gradient's RMS in each filter-pattern step; the book's 1e-5 leaves this model's "
                 "patterns grey (docs/heatmaps.md), so 0: every step moves the pixels by 1 in RMS")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", c.seed, "Seed of the filters' start noise and SmoothGrad's noise")
      ->default_val(1)
      ->check(acts::cli::whole_number(0, 4294967295LL));  // as train_gpu's
  app.add_option("--top", c.top,
                 "The N images of --data that excite each channel most, with the crop its receptive field covers "
                 "(top_LAYER.html, .npy, .json); layers: --layer/--all, else the conv layers")
      ->check(acts::cli::whole_number(1, 1000));
  app.add_option("--data", c.data,
                 "--top's images: a split of the run's data (train, validation, test; default train) or a folder "
                 "(images, class sub-folders, or x.npy)");
  app.add_option("--misclassified", c.misclassified,
                 "Predict every photo of a split of the run's data (test, validation, train) or of a folder with "
                 "one sub-folder per class; the misclassified ones get heatmaps and misclassified.html");
}

// Every flag of dump_acts, into c; --version into `version`.
void add_options(CLI::App& app, acts::DumpConfig& c, bool& version) {
  app.get_formatter()->column_width(34);
  app.add_option("--model", c.model,
                 "Checkpoint (.safetensors), run folder (default: runs/latest), or Keras model file: .h5 or .keras "
                 "(model.save()), .weights.h5 or save_weights() .h5 with --config");
  app.add_option("--config", c.config_json,
                 "Keras model JSON (model.to_json()): the architecture of a weights-only --model")
      ->check(CLI::ExistingFile);
  app.add_option("--rescale", c.rescale,
                 "Input scale, pixels 0-255 times this (default: the run's; 1/255 for Keras files, the tutorial's "
                 "ImageDataGenerator(rescale=1./255))")
      ->transform(acts::cli::rescale_number());
  app.add_option("--classes", c.classes,
                 "Names of class 0 and class 1 for the predictions (default: the run's class folders; \"class 0\", "
                 "\"class 1\" for Keras files)")
      ->expected(2)
      ->delimiter(',');
  app.add_option("--image", c.images,
                 "Image files, folders, uint8 (N, H, W, 3) .npy (default: the data's first test image)")
      ->expected(1, -1);
  app.add_option("--layer", c.layers, "Layers to dump, in any order (default: the first 8)")
      ->expected(1, -1)
      ->delimiter(',');
  app.add_flag("--all", c.all, "Dump every layer");
  app.add_option("--channel", c.channels, "Also draw channel K of each dumped (H, W, C) layer alone")
      ->expected(1, -1)
      ->delimiter(',')
      ->check(acts::cli::whole_number(0));
  app.add_option("--compare", c.compare,
                 "A second checkpoint of the same model (B: another epoch, e.g. runs/X/epochs/epoch_010.safetensors, "
                 "or another run): each layer under B and B - A beside --model's (NAME_b, NAME_diff)");
  app.add_flag("--animate", c.animate,
               "Also draw each layer under every epoch the run kept (train_gpu --keep-every N) as one animated "
               "picture, NAME_epochs.webp");
  app.add_option("--out", c.out, "Output folder (created if missing)")->default_val("acts");
  acts::cli::add_device(app, c.device, "auto (GPU if present, else CPU with a warning), cuda or cpu");
  app.add_option("--batch-size", c.batch_size, "Images per forward pass")
      ->default_val(32)
      ->check(acts::cli::whole_number(1));
  app.add_flag("--list-layers", c.list_layers, "Print the model's layer names and output shapes and exit");
  add_explain_options(app, c);
  acts::cli::add_version(app, version);
}

// After a good parse: --version, the flags that exclude each other, then the dump. Returns the
// exit code; bad input throws.
int run(acts::DumpConfig& c, bool version) {
  if (version) return acts::cli::print_version("dump_acts");
  if (c.all && !c.layers.empty()) {
    std::fprintf(stderr, "error: --all and --layer exclude each other; see --help\n");
    return 2;
  }
#ifdef ACTS_WITH_OPENCV
  const std::unique_ptr<acts::Painter> painter = acts::make_opencv_painter();
  c.painter = painter.get();
  const std::unique_ptr<acts::HeatmapPainter> heatmap_painter = acts::make_opencv_heatmap_painter();
  c.heatmap_painter = heatmap_painter.get();
#else
  if (!c.list_layers)
    std::fprintf(stderr, "note: built without OpenCV: only the NPY files are written (no pictures, no index.html)\n");
#endif
  c.handle_signals = true;
  acts::dump_activations(c);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  acts::DumpConfig c;
  bool version = false;
  CLI::App app{kDescription, "dump_acts"};
  add_options(app, c, version);
  if (const int code = acts::cli::parse(app, argc, argv); code >= 0) return code;
  try {
    return run(c, version);
  } catch (const acts::Interrupted& e) {
    std::fprintf(stderr, "\nInterrupted: %s\n", e.what());
    return 130;
  } catch (const acts::BadRequest& e) {  // a heatmap of a dense layer, a class that does not exist, ...
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const acts::BadFile& e) {  // a model file that cannot be used as it is
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const acts::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory running batches of %d images through the model; lower --batch-size, "
                         "or free memory\n", c.batch_size);
    return 1;
  } catch (const std::exception& e) {  // a library's own exception (OpenCV, the filesystem): one line too
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    std::fprintf(stderr, "error: internal: %s\n", msg.c_str());
    return 1;
  }
}
