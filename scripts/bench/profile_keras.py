#!/usr/bin/env python3
"""Where Keras spends a training step on the CPU: the oneDNN primitives TensorFlow runs for the
tutorial's model, layer by layer and pass by pass, beside the step's wall time. The peer's half of
`apps/bench --device cpu --profile` (ours), so the two can be read side by side
(docs/benchmarks.md).

How: the same model and training step as bench_keras.py (train_on_batch at batch 20, fp32 or
Keras' mixed_bfloat16), run in a child process with ONEDNN_VERBOSE=1, which makes TensorFlow's
oneDNN print one line per primitive it executes, with the milliseconds it took. The lines between
two steps' markers are that step's; each is named after the layer whose shape it has. TensorFlow
also runs its own (Eigen) kernels, which oneDNN does not see: the relu's and bias' gradients, the
casts, the loss, RMSprop. And it runs independent ops at the same time (inter-op threads): a
layer's backward-data and backward-weights primitives overlap, each on the cores the other leaves,
so their times add up to more than the wall time. `--inter-op 1` runs TensorFlow's ops one at a
time: the primitives' times then add up, and the wall time says what the overlap was worth.

Usage: profile_keras.py [--precision fp32|bf16] [--batch 20] [--steps 5] [--warmup 5]
                        [--inter-op N] [--json FILE]
Run it with a Python that has TensorFlow and Keras (bench_compare.py's --keras-python).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

STEP = "PROFILE_KERAS_STEP"


def child(a):
    """Builds bench_keras.py's model, warms up, then runs a.steps timed steps, printing a marker
    with the wall time after each: the verbose lines before a marker belong to its step."""
    import bench_keras as bk
    import numpy as np
    tf, keras, why = bk.import_keras(False)
    if why:
        sys.exit("profile_keras: " + why)
    tf.config.set_visible_devices([], "GPU")
    if a.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(a.inter_op)
    model, _ = bk.make_model(keras, "auto", precision=a.precision)
    # Named as the tutorial (Keras 2) names them, as ours are: conv2d_1..4, where Keras 3 says conv2d, conv2d_1...
    layers, count = [], {}
    for l in model.layers:
        base = re.sub(r"_\d+$", "", l.name)
        count[base] = count.get(base, 0) + 1
        layers.append({"name": "%s_%d" % (base, count[base]), "type": type(l).__name__, "in": list(l.input.shape[1:]),
                       "units": getattr(l, "filters", None) or getattr(l, "units", None)})
    pool = bk.Pool(np, 4 * a.batch, 7)
    for i in range(a.warmup):
        model.train_on_batch(*pool.batch(i * a.batch, a.batch))
    sys.stdout.flush()
    print("PROFILE_KERAS_LAYERS " + json.dumps(layers), flush=True)
    print(STEP + " start", flush=True)
    for i in range(a.steps):
        t = time.perf_counter()
        model.train_on_batch(*pool.batch(i * a.batch, a.batch))
        print("%s %.4f" % (STEP, (time.perf_counter() - t) * 1e3), flush=True)


def name_of(kind, shape, layers):
    """The Keras layer a primitive's shape belongs to, or what it is (weight reorders)."""
    if kind == "reorder":
        return "(weight reorders)"
    nums = lambda pat: [int(v) for v in re.findall(pat, shape)]
    if kind == "convolution":
        c, f, h = nums(r"ic(\d+)")[0], nums(r"oc(\d+)")[0], nums(r"ih(\d+)")[0]
        for l in layers:
            if l["type"] == "Conv2D" and l["in"][0] == h and l["in"][2] == c and l["units"] == f:
                return l["name"]
    if kind == "pooling":
        c, h = nums(r"ic(\d+)")[0], nums(r"ih(\d+)")[0]
        for l in layers:
            if l["type"] == "MaxPooling2D" and l["in"][0] == h and l["in"][2] == c:
                return l["name"]
    if kind in ("inner_product", "matmul", "gemm_api"):
        dims = set(int(v) for v in re.findall(r"\d+", shape))
        for l in layers:
            if l["type"] == "Dense" and l["in"][-1] in dims and l["units"] in dims:
                return l["name"]
    return "(other %s)" % kind


def pass_of(kind, prop):
    if kind in ("matmul", "gemm_api"):
        return "backward"  # TensorFlow's Dense forward is an inner product; its gradients are matmuls (fp32: sgemm)
    if kind == "reorder":
        return ""
    return {"forward_training": "forward", "forward_inference": "forward", "backward_data": "backward data",
            "backward_weights": "backward weights", "backward": "backward"}.get(prop, prop)


def parse(text):
    """(layers, [per step: {(layer, pass): ms}], [wall ms per step], oneDNN's info lines)."""
    layers, steps, walls, info, cur, started = [], [], [], [], {}, False
    for line in text.splitlines():
        if line.startswith("PROFILE_KERAS_LAYERS "):
            layers = json.loads(line.split(" ", 1)[1])
        elif line.startswith(STEP):
            if started:
                steps.append(cur)
                walls.append(float(line.split()[1]))
            started, cur = True, {}
        elif line.startswith("onednn_verbose") and ",info," in line and len(info) < 4:
            info.append(line.split(",info,", 1)[1])
        elif started and line.startswith("onednn_verbose") and ",exec," in line:
            f = line.split(",")
            at = f.index("exec")
            # exec, engine, kind, implementation, prop, memory descriptors, attributes, aux, shape, ms
            kind, impl, prop, shape, ms = f[at + 2], f[at + 3], f[at + 4], f[-2], float(f[-1])
            key = (name_of(kind, shape, layers), pass_of(kind, prop), impl.split(":")[0] or kind)
            cur[key] = cur.get(key, 0.0) + ms
    return layers, steps, walls, info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--inter-op", type=int, default=0, help="TensorFlow's inter-op threads (0: its default)")
    ap.add_argument("--json", help="also write the table as JSON to this file")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a)

    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__)) + os.pathsep + env.get("PYTHONPATH", "")
    args = [sys.executable, os.path.abspath(__file__), "--child", "--precision", a.precision, "--batch", str(a.batch),
            "--steps", str(a.steps), "--warmup", str(a.warmup), "--inter-op", str(a.inter_op)]
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        sys.exit("profile_keras: the Keras step failed: " + " | ".join(tail))
    layers, steps, walls, info = parse(r.stdout)
    if not steps or not any(steps):
        sys.exit("profile_keras: no oneDNN primitive lines: is this TensorFlow built without oneDNN, or "
                 "TF_ENABLE_ONEDNN_OPTS=0 set?")
    keys = list(dict.fromkeys(k for s in steps for k in s))  # in the order the first step ran them
    rows = [{"layer": k[0], "pass": k[1], "impl": k[2], "ms": statistics.median(s.get(k, 0.0) for s in steps)}
            for k in keys]
    total, wall = sum(r["ms"] for r in rows), statistics.median(walls)
    print("Keras %s training step at batch %d on the CPU, %s; TensorFlow inter-op threads: %s; median of %d steps"
          % (a.precision, a.batch, "; ".join(info[:3]), a.inter_op or "default", len(steps)))
    print("  %-22s %-18s %-10s %9s %7s" % ("layer", "pass", "impl", "ms", "share"))
    for row in rows:
        print("  %-22s %-18s %-10s %9.3f %6.1f%%" % (row["layer"], row["pass"], row["impl"], row["ms"],
                                                  100 * row["ms"] / wall))
    print("  %-52s %9.3f" % ("oneDNN primitives, summed", total))
    print("  %-52s %9.3f" % ("wall time of the step", wall))
    print("  %-52s %9.3f" % ("wall - summed (TensorFlow's own kernels; < 0: overlap)", wall - total))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"precision": a.precision, "batch": a.batch, "inter_op": a.inter_op, "onednn": info,
                       "rows": rows, "onednn_ms": total, "wall_ms": wall, "steps": len(steps)}, f, indent=1)


if __name__ == "__main__":
    main()
