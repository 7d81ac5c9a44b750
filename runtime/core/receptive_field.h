// The receptive field of a layer's units: which pixels of the model's input one output position
// can see, composed from every op's Reach (Op::reach, runtime/core/window.h) from the input up.
// dump_acts --top crops each top image to it. Along an axis, position p of a layer's output sees
// input pixels [start + p * jump, start + p * jump + size), cut to the image; padding shows as a
// negative start.
#pragma once
#include <cstddef>

#include "runtime/core/graph.h"

namespace acts {

struct ReceptiveField {
  bool whole = false;       // the unit sees the whole input (after Flatten, Dense, a global pooling)
  int size = 1;             // pixels along each axis (kernels and strides are square)
  int jump = 1;             // pixels between neighbouring output positions
  int start_y = 0, start_x = 0;  // the first pixel of output (0, 0)'s field; < 0 inside the padding
};

// The field of node `node`'s output (index into g.nodes()).
ReceptiveField receptive_field(const Graph& g, size_t node);

// The pixels output position (y, x) sees, half-open and cut to the height x width input; the
// whole image for a `whole` field.
struct PixelBox {
  int top = 0, left = 0, bottom = 0, right = 0;
};
PixelBox field_box(const ReceptiveField& f, int y, int x, int height, int width);

}  // namespace acts
