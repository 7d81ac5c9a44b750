// Per-image augmentation parameters (OpenCV-free): ImageDataGenerator.get_random_transform's
// draws, and apply_transform's composition of them into the one inverse affine that
// Batch::affine and kernels/cpu/augment.h take.
#pragma once
#include <cstdint>

#include "dataset.h"

namespace acts {

// keras_preprocessing's transform_parameters, same names and units: theta and shear in degrees,
// tx the shift along rows (height) and ty along columns (width), in pixels; zx scales rows and
// zy columns; flip = flip_horizontal (applied after the warp, as Keras does).
struct AffineParams {
  double theta = 0, tx = 0, ty = 0, shear = 0, zx = 1, zy = 1;
  bool flip = false;
};

// Draws as get_random_transform does (uniform ranges, independent zx and zy in
// [1 - zoom, 1 + zoom], a fair coin for the flip) from a counter-based generator keyed by
// (seed, image_index): the same image of the same run always gets the same transform.
// height/width: the image size, for shifts given as fractions.
AffineParams random_affine_params(const AugmentOptions& o, int height, int width, uint64_t seed, uint64_t image_index);

// apply_affine_transform's matrix T = R(theta) S(tx, ty) Sh(shear) Z(zx, zy) centred by
// transform_matrix_offset_center (Keras' centre: size/2 + 0.5), with the horizontal flip folded
// in, written in Batch::affine's convention: out pixel (x, y) samples (a0 x + a1 y + a2,
// a3 x + a4 y + a5), x the column. out: 6 floats.
void affine_matrix(const AffineParams& p, int height, int width, float* out);

}  // namespace acts
