#!/usr/bin/env python3
"""Writes tests/fixtures/golden/: reference values of the tutorial CNN computed by an independent
implementation (PyTorch, float64) configured to Keras semantics, for tests/cpu/golden_test.cpp.

  (a) forward150: tutorial_model(150), one random 150x150x3 input in [0, 1): every layer's output
      (NHWC as Keras returns it).
  (b) train48: tutorial_model(48), batch 4, labels 1 0 0 1: loss of 3 RMSprop steps (lr 1e-3,
      rho 0.9, eps 1e-8) on that batch, every gradient of step 1, the parameters after step 3,
      and the flat indices (int32) of the weights whose 3-step trajectory is ill-conditioned
      (moved by float32-sized gradient noise; see make_train48).

Tensors above SAMPLE_ABOVE elements (the big activations, the conv2d_2..4 and dense_1 kernels)
are stored as flat[::stride], about TARGET_SAMPLES of them (the test suite's data must stay under
5 MB), with an odd stride, so that every channel / output column (a power of 2) is hit, and for
kernels below the last dimension, so that every row (kh, kw, Cin position or dense input) is hit
too. What the subsample skips is pinned by sums over the WHOLE tensor, in float64 (store()):
  checksums: the sum, the sum of |v|, the sum weighted by u(4, k) (k = flat index), which a sign
      error or a permutation moves too, and the largest |v|;
  lines (subsampled tensors only): the sum and the sum of |v| of every row and of every column,
      rows being kernel rows (kh, kw, Cin) / dense inputs / image rows, columns the last dimension,
      so that a single wrong element is one error in a sum of a few hundred values, not of 10^5.
For the parameters after step 3 the sums leave out the ill-conditioned weights.

Weights and inputs are NOT stored (3.45M floats); both sides generate them from this formula
(the C++ twin is tests/cpu/golden_weights.h; keep the two identical):
  fmix32(h): h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13; h *= 0xC2B2AE35; h ^= h >> 16  (mod 2^32)
  u(stream, k) = fmix32((k + stream * 0x9E3779B9) mod 2^32) / 2^32           (a double in [0, 1))
  parameters, stream 1, k = index in the flat parameter vector (Keras order and layouts):
    kernel: float32(limit * (2u - 1)), limit = sqrt(6 / (fan_in + fan_out)) (Glorot's bound)
    bias:   float32(0.1 * (2u - 1))
  inputs: float32(u), k = flat NHWC index; stream 2 for (a), stream 3 for (b)
The float32 values are then used in float64 by the reference, exactly as the C++ side has them.

Keras semantics in PyTorch: NHWC in/out (permute around each conv/pool); conv kernel
(kh, kw, Cin, Cout) -> (Cout, Cin, kh, kw); valid padding; MaxPool 2x2 stride 2 floor; Flatten
in (H, W, C) order; BCE as Keras computes it: p = sigmoid(z) clipped to [1e-7, 1 - 1e-7],
-[y log p + (1 - y) log(1 - p)], batch mean; RMSprop(alpha=0.9, eps=1e-8) is Keras'
a = 0.9 a + 0.1 g^2, w -= lr g / (sqrt(a) + eps).

Run: python3 scripts/reference/make_goldens.py [--out tests/fixtures/golden]   (CPU only, ~1 minute)
"""
import argparse
import importlib
import json
import math
import os
import subprocess
import sys


def need(module, pip_name):
    try:
        return importlib.import_module(module)
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", pip_name])
        return importlib.import_module(module)


np = need("numpy", "numpy")
from golden_formula import golden_param_arrays, uniform  # noqa: E402  (numpy is installed just above)
torch = need("torch", "torch")
F = torch.nn.functional

# Per-sample layers of tutorial_model(size): (keras name, kind, filters/units)
LAYERS = [("conv2d_1", "conv", 32), ("max_pooling2d_1", "pool", 0), ("conv2d_2", "conv", 64),
          ("max_pooling2d_2", "pool", 0), ("conv2d_3", "conv", 128), ("max_pooling2d_3", "pool", 0),
          ("conv2d_4", "conv", 128), ("max_pooling2d_4", "pool", 0), ("flatten_1", "flatten", 0),
          ("dense_1", "dense", 512), ("dense_2", "dense", 1)]
SAMPLE_ABOVE = 16_384  # elements; bigger tensors are stored as flat[::stride] plus checksums()
TARGET_SAMPLES = 8_192
CHECKSUM_STREAM = 4  # u(4, k) weighs the position-weighted checksum


def param_shapes(size):
    """[(name, shape)] in the Graph's flat order, Keras layouts."""
    shapes, h, c = [], size, 3
    for name, kind, n in LAYERS:
        if kind == "conv":
            shapes += [(name + "/kernel", (3, 3, c, n)), (name + "/bias", (n,))]
            h, c = h - 2, n
        elif kind == "pool":
            h //= 2
        elif kind == "flatten":
            c = h * h * c
        else:
            shapes += [(name + "/kernel", (c, n)), (name + "/bias", (n,))]
            c = n
    return shapes


def golden_params(size):
    """{name: float64 tensor} holding the float32-rounded weights of the formula."""
    shapes = param_shapes(size)
    arrays = golden_param_arrays([shape for _, shape in shapes])
    return {name: torch.from_numpy(w.astype(np.float64)) for (name, _), w in zip(shapes, arrays)}


def golden_inputs(stream, n, size):
    u = uniform(stream, n * size * size * 3)
    return torch.from_numpy(u.astype(np.float32).astype(np.float64).reshape(n, size, size, 3))


def forward(p, x):
    """x (N, H, W, C) -> ([per-layer outputs, NHWC / (N, features)], logits (N))."""
    acts, logits = [], None
    for name, kind, _ in LAYERS:
        if kind == "conv":
            k = p[name + "/kernel"].permute(3, 2, 0, 1)  # (kh, kw, Cin, Cout) -> (Cout, Cin, kh, kw)
            y = F.conv2d(x.permute(0, 3, 1, 2), k, p[name + "/bias"])
            x = F.relu(y).permute(0, 2, 3, 1)
        elif kind == "pool":
            x = F.max_pool2d(x.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)  # floor, as Keras' valid
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)  # NHWC rows: Keras' (H, W, C) order
        else:
            z = x @ p[name + "/kernel"] + p[name + "/bias"]
            if name == "dense_2":
                logits = z[:, 0]
                x = torch.sigmoid(z)
            else:
                x = F.relu(z)
        acts.append(x)
    return acts, logits


def keras_bce(logits, labels):
    p = torch.clamp(torch.sigmoid(logits), 1e-7, 1 - 1e-7)
    return -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()


def save(out, fname, array):
    np.save(os.path.join(out, fname), np.ascontiguousarray(array, dtype=np.float32))
    return fname


def sample_stride(shape, rows_too):
    """1, or the odd stride giving about TARGET_SAMPLES of flat[::stride]: coprime with the last
    dimension (every channel / column is hit) and, with rows_too, below it (every row is hit)."""
    n = math.prod(shape)
    if n <= SAMPLE_ABOVE:
        return 1
    stride = -(-n // TARGET_SAMPLES) | 1
    assert math.gcd(stride, shape[-1]) == 1 and (not rows_too or stride < shape[-1]), (shape, stride)
    return stride


def checksums(flat, skip=None):
    """float64 sum, sum of |v|, sum of u(4, k) v[k] and max |v| of the whole flat tensor, less `skip`."""
    w = uniform(CHECKSUM_STREAM, flat.size)
    if skip is not None:
        flat, w = flat[~skip], w[~skip]
    return {"sum": float(flat.sum()), "abs": float(np.abs(flat).sum()), "weighted": float((w * flat).sum()),
            "max_abs": float(np.abs(flat).max(initial=0.0))}


def store(out, fname, flat, shape, rows, rows_too, skip=None):
    """The manifest entry of one tensor (flat float64, `shape`): the file of flat[::stride], the
    stride, checksums() and, when subsampled, its line sums: with the tensor viewed as (rows, -1)
    and as (-1, last dim), [row sums, row sums of |v|, column sums, column sums of |v|] (float64;
    `skip` elements count as 0), which pin each row and column of the elements the file skips."""
    stride = sample_stride(shape, rows_too)
    entry = {"file": save(out, fname + ".npy", flat[::stride]), "stride": stride,
             "checksums": checksums(flat, skip)}
    if stride > 1:
        v = flat if skip is None else np.where(skip, 0.0, flat)
        r, c = v.reshape(rows, -1), v.reshape(-1, shape[-1])
        lines = np.concatenate([r.sum(1), np.abs(r).sum(1), c.sum(0), np.abs(c).sum(0)])
        # float64: float32 would round a line sum by more than the test allows
        np.save(os.path.join(out, fname + "_lines.npy"), lines)
        entry["lines"] = {"file": fname + "_lines.npy", "rows": rows, "cols": shape[-1]}
    return entry


def make_forward150(out):
    p = golden_params(150)
    all_params = torch.cat([t.reshape(-1) for t in p.values()])
    probe = [0, 1, 863, 864, 895, 896, 1_000_000, all_params.numel() - 1]  # kernel/bias edges, a middle, the end
    x = golden_inputs(2, 1, 150)
    with torch.no_grad():
        acts, _ = forward(p, x)
        acts32, _ = forward({k: v.float() for k, v in p.items()}, x.float())
    layers = []
    for (name, _, _), a, a32 in zip(LAYERS, acts, acts32):
        flat = a.reshape(-1).numpy()
        err = (a32.double() - a).abs().max().item() / a.abs().max().item()
        rows = a.shape[1] if a.dim() == 4 else 1  # image rows (the batch is 1)
        layers.append(dict(name=name, shape=list(a.shape),
                           **store(out, f"forward150_{name}", flat, list(a.shape), rows, rows_too=False)))
        print(f"forward150 {name:16s} {list(a.shape)} stride {layers[-1]['stride']}  "
              f"torch-float32 max err / max|ref| {err:.1e}")
    return {"image_size": 150, "batch": 1, "input_stream": 2, "layers": layers,
            "param_probe": {"index": probe, "value": [all_params[k].item() for k in probe]},
            "input_probe": {"index": [0, 67499], "value": [x.reshape(-1)[k].item() for k in (0, 67499)]}}


def train48(noise_seed=None):
    """3 RMSprop steps on one batch. With noise_seed, every gradient gets float32-sized noise
    (1e-6 of the tensor's largest gradient; exact zeros of dead units stay zero) before the
    step, to find the weights whose trajectory float32 rounding alone can move."""
    p = golden_params(48)
    names = list(p.keys())
    params = [v.clone().requires_grad_(True) for v in p.values()]
    x = golden_inputs(3, 4, 48)
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    opt = torch.optim.RMSprop(params, lr=1e-3, alpha=0.9, eps=1e-8)
    gen = torch.Generator().manual_seed(noise_seed) if noise_seed is not None else None
    losses, grads, logits_seen = [], None, []
    for step in range(3):
        opt.zero_grad()
        _, logits = forward(dict(zip(names, params)), x)
        loss = keras_bce(logits, labels)
        loss.backward()
        losses.append(loss.item())
        logits_seen.append(logits.detach().numpy())
        if step == 0:
            grads = [t.grad.detach().clone() for t in params]
        if gen is not None:
            for t in params:
                noise = torch.randn(t.shape, generator=gen, dtype=torch.float64) * 1e-6 * t.grad.abs().max()
                t.grad += torch.where(t.grad != 0, noise, torch.zeros_like(noise))
        opt.step()
    return names, labels, losses, grads, [t.detach() for t in params], logits_seen


def make_train48(out):
    names, labels, losses, grads, after, logits = train48()
    for step, (z, loss) in enumerate(zip(logits, losses)):
        print(f"train48 step {step + 1}: logits {z} loss {loss:.9f}")
    # RMSprop's first steps amplify a gradient error near g = 0 by up to lr / eps: mark the
    # weights that either of two float32-noise runs moves by more than a fifth of the C++
    # test's tolerance (1e-6 + 1e-4 |w|); the test holds them only to RMSprop's bound on a step.
    moved = [torch.zeros_like(w, dtype=torch.bool) for w in after]
    for seed in (1, 2):
        noisy = train48(seed)[4]
        moved = [m | ((a - b).abs() > 0.2 * (1e-6 + 1e-4 * a.abs())) for m, a, b in zip(moved, after, noisy)]
    files = []
    for name, g, w, m in zip(names, grads, after, moved):
        base = name.replace("/", "__")
        shape = list(w.shape)
        rows = math.prod(shape[:-1])  # kernel rows (kh, kw, Cin) / dense inputs; biases: 1
        g, w, m = g.reshape(-1).numpy(), w.reshape(-1).numpy(), m.reshape(-1).numpy()
        np.save(os.path.join(out, f"train48_illcond_{base}.npy"), np.flatnonzero(m).astype(np.int32))
        files.append({"name": name, "shape": shape,
                      "grad": store(out, f"train48_grad_{base}", g, shape, rows, rows_too=True),
                      "after3": store(out, f"train48_after3_{base}", w, shape, rows, rows_too=True, skip=m),
                      "illcond": f"train48_illcond_{base}.npy"})
        print(f"train48 {name:16s} {shape} stride {files[-1]['grad']['stride']}  "
              f"ill-conditioned after 3 steps: {int(m.sum())} of {m.size}")
    return {"image_size": 48, "batch": 4, "input_stream": 3, "labels": labels.tolist(), "lr": 1e-3, "rho": 0.9,
            "eps": 1e-8, "steps": 3, "losses": losses, "params": files}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "golden"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for n in os.listdir(args.out):  # no stale files of an earlier layout
        if n.endswith(".npy") or n == "manifest.json":
            os.remove(os.path.join(args.out, n))
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    manifest = {"generator": "scripts/reference/make_goldens.py (PyTorch " + torch.__version__ + ", float64)",
                "forward150": make_forward150(args.out), "train48": make_train48(args.out)}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"wrote {args.out}: {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
