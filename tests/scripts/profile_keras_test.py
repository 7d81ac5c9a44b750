#!/usr/bin/env python3
"""scripts/bench/profile_keras.py's parser (ctest profile_keras_parse) on oneDNN verbose lines as
TensorFlow 2.21's oneDNN 3.7 prints them (copied from a real run, times edited): lines are split
into steps at the markers, named after the tutorial's layers by their shapes (Keras 3's own names
are conv2d, conv2d_1, ...: ours are conv2d_1, conv2d_2, ...), passes told apart, repeated
primitives of one step summed, and lines before the first marker (the warm-up) ignored.
Needs no TensorFlow."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts", "bench"))
import profile_keras as pk  # noqa: E402

V = "onednn_verbose,v1,primitive,exec,cpu,"
CONV2_FWD = (V + "convolution,brg_conv_fwd:avx512_core_bf16,forward_training,src:bf16::blocked:acdb::f0 "
             "wei:bf16:a:blocked:AcdB64a2b::f0 bia:bf16:a:blocked:a::f0 dst:bf16::blocked:acdb::f0,"
             "attr-scratchpad:user attr-post-ops:eltwise_relu,alg:convolution_direct,"
             "mb20_ic32oc64_ih74oh72kh3sh1dh0ph0_iw74ow72kw3sw1dw0pw0,")
CONV2_BWD_W = (V + "convolution,jit_bf16:avx512_core_bf16,backward_weights,src:bf16::blocked:acdb::f0 "
               "wei:bf16:a:blocked:ABcd16b16a::f0 bia:bf16::blocked:a::f0 dst:bf16::blocked:acdb::f0,"
               "attr-scratchpad:user,alg:convolution_direct,mb20_ic32oc64_ih74oh72kh3sh1dh0ph0_iw74ow72kw3sw1dw0pw0,")
POOL2_BWD = (V + "pooling,jit:avx512_core_bf16,backward_data,src:bf16::blocked:acdb::f0 dst:bf16::blocked:acdb::f0 "
             "ws:u8::blocked:acdb::f0,,alg:pooling_max,mb20ic64_ih72oh36kh2sh2dh0ph0_iw72ow36kw2sw2dw0pw0,")
REORDER = V + "reorder,jit:uni,undef,src:bf16::blocked:cdba::f0 dst:bf16::blocked:AcdB64a2b::f0,,,64x32x3x3,"
DENSE_BWD = (V + "gemm_api,,undef,src_f32::blocked:ba:f0 wei_f32::blocked:ab:f0 dst_f32::blocked:ab:f0,,,"
             "6272x20:20x512,")
LAYERS = ('PROFILE_KERAS_LAYERS [{"name": "conv2d_1", "type": "Conv2D", "in": [150, 150, 3], "units": 32}, '
          '{"name": "conv2d_2", "type": "Conv2D", "in": [74, 74, 32], "units": 64}, '
          '{"name": "max_pooling2d_2", "type": "MaxPooling2D", "in": [72, 72, 64], "units": null}, '
          '{"name": "dense_1", "type": "Dense", "in": [6272], "units": 512}]')

log = "\n".join([
    CONV2_FWD + "99.0",  # warm-up: before the first marker
    LAYERS,
    "onednn_verbose,v1,info,oneDNN v3.7.3 (commit N/A)",
    pk.STEP + " start",
    REORDER + "0.5", CONV2_FWD + "8.0", CONV2_BWD_W + "9.0", CONV2_BWD_W + "1.0", POOL2_BWD + "0.75",
    DENSE_BWD + "4.0",
    pk.STEP + " 30.0",
    CONV2_FWD + "6.0", CONV2_BWD_W + "12.0",
    "some line TensorFlow printed",
    pk.STEP + " 20.0",
])
layers, steps, walls, info = pk.parse(log)
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


check([l["name"] for l in layers] == ["conv2d_1", "conv2d_2", "max_pooling2d_2", "dense_1"], "layers read")
check(walls == [30.0, 20.0], "wall times per step: %s" % walls)
check(info == ["oneDNN v3.7.3 (commit N/A)"], "oneDNN's info line kept: %s" % info)
check(len(steps) == 2, "two steps")
want = {("(weight reorders)", "", "jit"): 0.5, ("conv2d_2", "forward", "brg_conv_fwd"): 8.0,
        ("conv2d_2", "backward weights", "jit_bf16"): 10.0, ("max_pooling2d_2", "backward data", "jit"): 0.75,
        ("dense_1", "backward", "gemm_api"): 4.0}
check(steps[0] == want, "first step named and summed: %s" % steps[0])
check(steps[1] == {("conv2d_2", "forward", "brg_conv_fwd"): 6.0, ("conv2d_2", "backward weights", "jit_bf16"): 12.0},
      "second step: %s" % steps[1])
check(pk.name_of("convolution", "mb20_ic3oc99_ih150oh148", layers) == "(other convolution)",
      "a shape of no layer is said to be one")
sys.exit(1 if failures else 0)
