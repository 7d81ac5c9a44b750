// What Conv2D's CPU and CUDA halves read off its node: the window geometry (shape inference put
// window_1d's padding into Node::pad_*) and whether the layer has a bias (use_bias=False keeps
// attrs["use_bias"] = 0; the node then has the kernel alone).
#pragma once
#include "kernels/cpu/conv2d.h"
#include "runtime/core/graph.h"

namespace acts {

inline bool conv_use_bias(const LayerSpec& s) {
  const auto it = s.attrs.find("use_bias");
  return it == s.attrs.end() || it->second != 0;
}

inline cpu::ConvGeometry conv_geometry(const Node& nd) {
  cpu::ConvGeometry g;
  g.H = nd.in_shape[0], g.W = nd.in_shape[1], g.C = nd.in_shape[2];
  g.KH = g.KW = nd.spec.kernel;
  g.F = nd.spec.filters;
  g.stride = nd.spec.stride;
  g.pad_top = nd.pad_top, g.pad_left = nd.pad_left;
  g.OH = nd.out_shape[0], g.OW = nd.out_shape[1];
  return g;
}

}  // namespace acts
