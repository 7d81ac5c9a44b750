#include "receptive_field.h"

#include <algorithm>

#include "runtime/ops/op.h"

namespace acts {

// The usual recurrence, an op at a time: a window of k moved by s over a layer whose neighbouring
// positions are `jump` pixels apart widens the field by (k - 1) * jump and multiplies the jump by
// s; padding p before the input moves the start back by p * jump.
ReceptiveField receptive_field(const Graph& g, size_t node) {
  ReceptiveField f;
  for (size_t i = 0; i <= node && i < g.nodes().size(); ++i) {
    const Node& nd = g.nodes()[i];
    const Reach r = op_of(nd.spec.type).reach(nd);
    if (f.whole || r.whole) {
      f.whole = true;
      continue;
    }
    f.start_y -= nd.pad_top * f.jump;
    f.start_x -= nd.pad_left * f.jump;
    f.size += (r.size - 1) * f.jump;
    f.jump *= r.stride;
  }
  return f;
}

PixelBox field_box(const ReceptiveField& f, int y, int x, int height, int width) {
  if (f.whole) return {0, 0, height, width};
  const int top = f.start_y + y * f.jump, left = f.start_x + x * f.jump;
  return {std::max(top, 0), std::max(left, 0), std::min(top + f.size, height), std::min(left + f.size, width)};
}

}  // namespace acts
