// Class activation maps of a conv layer: where the model looks for a class (Chollet, Deep
// Learning with Python §5.4.3; Selvaraju et al. 2017 and its family). Every method runs on any
// Backend (CPU reference, fast CPU, CUDA) through forward() and gradient(), a batch at a time.
//
//   kGradCam       the book's: channel weights = mean over positions of d score / d A; map =
//                  mean over channels of weight x A; ReLU; divided by its maximum.
//   kGradCamSum    tf-keras-vis' Gradcam: the same weights, summed over channels, then min-max
//                  normalised (differs from the book by a positive factor before the ReLU, and by
//                  the normalisation when the map's minimum after ReLU is not 0).
//   kGradCamPlusPlus  Chattopadhay et al. 2018, with the exp(score) closed form, as tf-keras-vis
//                  computes it (pytorch-grad-cam differs: gradcam.cpp says where).
//   kLayerCam      Jiang et al. 2021: ReLU(d score / d A) x A, summed over channels.
//   kScoreCam      Wang et al. 2020: each channel, upsampled to the input and min-max normalised,
//                  masks the input; its weight is the class score of the masked input (the raw
//                  score, never a softmax over a single sigmoid output, which is always 1).
// Maps are ReLU'd and normalised to [0, 1] per image and class (a map that is zero everywhere
// stays zero): kGradCam divides by the maximum, the others (m - min) / (max - min + 1e-7) as
// tf-keras-vis and pytorch-grad-cam do. Checked against the book's code and tf-keras-vis by
// tests/explain/cam_reference_test.cpp.
#pragma once
#include <string>
#include <vector>

#include "runtime/core/backend.h"

namespace acts {

enum class CamMethod { kGradCam, kGradCamSum, kGradCamPlusPlus, kLayerCam, kScoreCam };

// "gradcam", "gradcam-sum", "gradcam++", "layercam", "scorecam"; parse throws BadRequest listing them.
const char* cam_method_name(CamMethod m);
CamMethod parse_cam_method(const std::string& name);

// The layer heatmaps default to: the last Conv2D layer before the model's flattening (the book's
// last_conv_layer; moved on over an Activation or Dropout right after it). Throws BadRequest when
// the model has none.
std::string default_cam_layer(const Graph& g);

struct CamRequest {
  CamMethod method = CamMethod::kGradCam;
  std::string layer;         // "" = default_cam_layer()
  std::vector<int> classes;  // class indices (class_score.h); every map is computed for each; empty: all
  int score_cam_batch = 0;   // Score-CAM's masked inputs per forward; 0 (or more than the
                             // backend's max_batch) = max_batch
};

struct CamMaps {
  int n = 0, classes = 0, h = 0, w = 0;  // the layer's resolution
  std::vector<float> maps;               // (n, classes, h, w), each in [0, 1]
  std::vector<float> scores;             // (n, classes): the class scores of the unmasked images
  int channels = 0;                      // the layer's channels C
  std::vector<float> weights;            // (n, classes, C): each channel's weight in the map (Grad-CAM:
                                         // the gradient's mean; Grad-CAM++: its alpha-weighted sum;
                                         // Score-CAM: the masked input's score); empty for LayerCAM,
                                         // whose weights are per position
};

// Heatmaps of `b`'s images (b.n <= the backend's max_batch). Throws BadRequest for a layer that
// is not (H, W, C) or does not exist, and for a class out of range, naming them. The backend's
// activations are then those of its last forward (Score-CAM: its last batch of masked inputs).
CamMaps compute_cam(Backend& be, const Batch& b, const CamRequest& r);
// compute_cam() for each of `methods` (r.method is not read), in their order, equal to separate
// calls bit for bit; the gradient methods share one forward and one gradient per class instead
// of running them once each (dump_acts --cam all).
std::vector<CamMaps> compute_cams(Backend& be, const Batch& b, const CamRequest& r,
                                  const std::vector<CamMethod>& methods);

}  // namespace acts
