#!/usr/bin/env python3
"""The peers of `bench --explain` (apps/bench/bench_explain.h): Grad-CAM of conv2d_4 for 1 and 32
images, Score-CAM of its 128 channels for 1 image, and the patterns of its 128 filters (40 steps),
in TensorFlow/Keras with GradientTape (the book's code, Chollet §5.4.2 / §5.4.3) and in PyTorch
autograd, on the same model, the same weights (golden_params: tests/cpu/golden_weights.h's formula,
scripts/reference/golden_formula.py) and the same photos, printing bench's table and JSON so that
scripts/bench/bench_explain.py can put them side by side.

What each run does, as ours (a run: from uint8 photos in host memory to the results in host memory):
  gradcam_*    one forward keeping conv2d_4's output, one gradient per class (class 1's score = the
               logit z, class 0's = -z: the head's sigmoid is left out of the score), the book's map
               (mean over positions of the gradient as channel weights, mean over channels of
               weight x activation, ReLU, / max), both classes.
  scorecam_1   the forward of the photo, each of the 128 channels bilinearly resized to 150x150
               and min-max normalised masks the photo, the 128 masked photos run in batches of 32,
               their logits weigh the channels (class 0: -z), ReLU, / max.
  filters_128  the book's gradient ascent for all 128 filters in one batch of 128 (the book loops
               over filters one at a time; a batch is the fastest way a user of these frameworks
               would write it): grey 128 + uniform noise x 20 in pixels, loss = mean of the
               filter's activation, gradient / (RMS + 1e-5) per image, 40 steps of 1, deprocessed.
The model takes pixels (0-255) and rescales them by 1/255 inside, as the tutorial's does.

Variants: TensorFlow `eager` (the book's code as written: GradientTape in Python) and `function`
(the same bodies under tf.function, traced in the warm-up); PyTorch `eager` (channels_last; on
CUDA the same on the GPU). Timing: time.perf_counter around a run, after torch.cuda.synchronize()
on CUDA; warm-ups first; the median of the repeats (bench_common.explain_plan, the C++ plan's mirror).

Usage: bench_explain_peers.py --framework tensorflow|pytorch [--variants ...] [--device auto|cpu|cuda]
                              [--photos DIR] [--rows gradcam_1,...] [--quick] [--repeats N] [--filter-steps N]
                              [--json FILE] [--no-install]
DIR holds x.npy (N, 150, 150, 3) uint8 (scripts/data/photos_to_npy.py); without it random pixels.
Installs tensorflow-cpu or torch with pip (scripts/reference/pip_need.py) when missing.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))
import bench_common as bc  # noqa: E402
from pip_need import need  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
np = need("numpy")
from golden_formula import uniform  # noqa: E402  (numpy is there now)
ALLOW_INSTALL = "--no-install" not in sys.argv  # the GPU machine is offline: fail at once instead


def framework(module, pip_name):
    """need() the framework, or without installs allowed just import it (ImportError says what is missing)."""
    if ALLOW_INSTALL:
        return need(module, pip_name)
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        print("error: --no-install: %s is not importable in %s (%s) ; pip install %s, or leave --no-install out"
              % (module, sys.executable, e, pip_name), file=sys.stderr)
        sys.exit(2)

FILTERS = [32, 64, 128, 128]
LAYER = 3  # conv2d_4, the fourth convolution


def golden_weights():
    """Keras' get_weights() order and layouts, float32: the formula of tests/cpu/golden_weights.h."""
    shapes, h, c = [], 150, 3
    for f in FILTERS:
        shapes += [(3, 3, c, f), (f,)]
        h, c = (h - 2) // 2, f
    shapes += [(h * h * c, 512), (512,), (512, 1), (1,)]
    out, k = [], 0
    for shape in shapes:
        count = int(np.prod(shape))
        u = uniform(1, count, k)
        if len(shape) > 1:
            receptive = int(np.prod(shape[:-2]))
            w = np.sqrt(6.0 / (receptive * shape[-2] + receptive * shape[-1])) * (2.0 * u - 1.0)
        else:
            w = 0.1 * (2.0 * u - 1.0)
        out.append(w.astype(np.float32).reshape(shape))
        k += count
    return out


def photos(d, count):
    if not d:
        return np.random.default_rng(5).integers(0, 256, (count, 150, 150, 3), dtype=np.uint8), \
            "random pixels (--photos: real ones)"
    x = np.load(os.path.join(d, "x.npy"))
    if x.ndim != 4 or x.shape[1:] != (150, 150, 3) or x.dtype != np.uint8 or len(x) == 0:
        sys.exit("error: %s/x.npy: not (N, 150, 150, 3) uint8 ; make it with scripts/data/photos_to_npy.py --size 150" % d)
    return np.ascontiguousarray(x[np.arange(count) % len(x)]), "photos of " + d


def noise(n):
    """The filter patterns' start: grey 128 + uniform noise x 20, in pixels."""
    return (128.0 + 20.0 * np.random.default_rng(1).random((n, 150, 150, 3))).astype(np.float32)


def deprocess(x):
    """The book's: centre, / (std + 1e-5), x 0.1, + 0.5, clip to [0, 1], per image."""
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    s = x.std(axis=(1, 2, 3), keepdims=True)
    return np.clip((x - m) / (s + 1e-5) * 0.1 + 0.5, 0, 1)


# ---------------------------------------------------------------- TensorFlow / Keras (GradientTape)

class TF:
    def __init__(self, device, variant, plan):
        self.tf = tf = framework("tensorflow", "tensorflow-cpu")
        import keras
        self.name = "tf-" + variant + " (%s, keras %s)" % (tf.__version__, keras.__version__)
        self.impl = "tf-" + variant
        L = keras.layers
        inp = keras.Input((150, 150, 3))
        h = L.Rescaling(1.0 / 255)(inp)
        convs = []
        for f in FILTERS:
            h = L.Conv2D(f, 3, activation="relu")(h)
            convs.append(h)
            h = L.MaxPooling2D(2)(h)
        h = L.Flatten()(h)
        h = L.Dense(512, activation="relu")(h)
        z = L.Dense(1)(h)  # the logit: class scores are z and -z (the sigmoid would follow)
        self.model = keras.Model(inp, z)
        self.model.set_weights(golden_weights())
        self.grad_model = keras.Model(inp, [convs[LAYER], z])  # the book's grad model
        self.features = keras.Model(inp, convs[LAYER])  # the book's feature extractor
        self.batch = plan["scorecam_batch"]
        fn = tf.function if variant == "function" else (lambda f: f)
        self.gradcam_fn = fn(self._gradcam)
        self.scorecam_fn = fn(self._scorecam)
        self.step_fn = fn(self._filter_step)

    def _maps(self, A, w):
        tf = self.tf
        m = tf.nn.relu(tf.reduce_mean(A * w[:, None, None, :], axis=-1))
        return tf.math.divide_no_nan(m, tf.reduce_max(m, axis=(1, 2), keepdims=True))

    def _gradcam(self, x):
        tf = self.tf
        with tf.GradientTape(persistent=True) as tape:
            A, z = self.grad_model(x)
            scores = [-z[:, 0], z[:, 0]]  # class 0, class 1
        maps = []
        for s in scores:
            g = tape.gradient(s, A)
            maps.append(self._maps(A, tf.reduce_mean(g, axis=(1, 2))))
        del tape
        return tf.stack(maps, axis=1)

    def gradcam(self, u8):
        return self.gradcam_fn(self.tf.constant(u8, dtype=self.tf.float32)).numpy()

    def _scorecam(self, x):
        tf = self.tf
        A, _ = self.grad_model(x)
        up = tf.image.resize(A, (150, 150), method="bilinear")[0]  # (150, 150, 128)
        lo = tf.reduce_min(up, axis=(0, 1))
        hi = tf.reduce_max(up, axis=(0, 1))
        masks = tf.transpose(tf.math.divide_no_nan(up - lo, hi - lo), (2, 0, 1))[..., None]
        z = tf.concat([self.model(x * masks[i:i + self.batch])[:, 0] for i in range(0, 128, self.batch)], 0)
        maps = []
        for sign in (-1.0, 1.0):
            m = tf.nn.relu(tf.reduce_sum(A[0] * (sign * z), axis=-1))
            maps.append(tf.math.divide_no_nan(m, tf.reduce_max(m)))
        return tf.stack(maps)

    def scorecam(self, u8):
        return self.scorecam_fn(self.tf.constant(u8[:1], dtype=self.tf.float32)).numpy()

    def _filter_step(self, img, idx):
        tf = self.tf
        with tf.GradientTape() as tape:
            tape.watch(img)
            act = self.features(img)
            # per image i: the mean of filter i's activation; their sum's gradient is each one's
            loss = tf.reduce_sum(tf.reduce_mean(tf.gather(act, idx[:, None], axis=3, batch_dims=1), axis=(1, 2, 3)))
        g = tape.gradient(loss, img)
        g = g / (tf.sqrt(tf.reduce_mean(tf.square(g), axis=(1, 2, 3), keepdims=True)) + 1e-5)
        return img + 1.0 * g

    def filters(self, n, steps):
        img = self.tf.constant(noise(n))
        idx = self.tf.range(n)
        for _ in range(steps):
            img = self.step_fn(img, idx)
        return deprocess(img.numpy())

    def sync(self):
        pass


# ---------------------------------------------------------------- PyTorch (autograd)

class Torch:
    def __init__(self, device, variant, plan):
        self.torch = torch = framework("torch", "torch")
        self.dev = torch.device(device)
        self.impl = "torch-" + ("cuda-" if device == "cuda" else "") + variant
        self.name = "%s (torch %s, %d threads)" % (self.impl, torch.__version__, torch.get_num_threads())
        nn = torch.nn
        w = golden_weights()
        self.convs = []
        for i in range(4):
            c = nn.Conv2d(w[2 * i].shape[2], w[2 * i].shape[3], 3)
            c.weight.data = torch.from_numpy(w[2 * i].transpose(3, 2, 0, 1).copy())
            c.bias.data = torch.from_numpy(w[2 * i + 1])
            self.convs.append(c.to(self.dev, memory_format=torch.channels_last).requires_grad_(False))
        self.fc = []
        for i in (8, 10):
            f = nn.Linear(*w[i].shape)
            f.weight.data = torch.from_numpy(w[i].T.copy())
            f.bias.data = torch.from_numpy(w[i + 1])
            self.fc.append(f.to(self.dev).requires_grad_(False))
        self.batch = plan["scorecam_batch"]
        if device == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False

    def upload(self, u8):
        """(N, H, W, C) uint8 pixels -> float NCHW with channels_last strides, still 0-255."""
        t = self.torch.from_numpy(u8).to(self.dev)
        return t.permute(0, 3, 1, 2).float()

    def forward(self, x, upto=None):
        """(conv2d_4's relu'd output, logit z); upto=LAYER stops there (the feature extractor)."""
        F = self.torch.nn.functional
        h = x * (1.0 / 255)
        A = None
        for i, c in enumerate(self.convs):
            h = F.relu(c(h))
            if i == LAYER:
                A = h
                if upto is not None:
                    return A, None
            h = F.max_pool2d(h, 2)
        h = h.permute(0, 2, 3, 1).flatten(1)  # Keras' Flatten order (H, W, C)
        return A, self.fc[1](F.relu(self.fc[0](h)))[:, 0]

    def _maps(self, A, w):
        m = (A * w[:, :, None, None]).mean(1).relu()
        top = m.amax(dim=(1, 2), keepdim=True)
        return self.torch.where(top > 0, m / top.clamp_min(1e-30), m)

    def gradcam(self, u8):
        torch = self.torch
        x = self.upload(u8)
        with torch.enable_grad():
            A, z = self.forward(x.requires_grad_(True))  # input grad not computed: only A is asked for
            maps = []
            for s in (-z, z):
                g, = torch.autograd.grad(s.sum(), A, retain_graph=True)
                maps.append(self._maps(A.detach(), g.mean((2, 3))))
        return torch.stack(maps, 1).cpu().numpy()

    def scorecam(self, u8):
        torch, F = self.torch, self.torch.nn.functional
        with torch.no_grad():
            x = self.upload(u8[:1])
            A, _ = self.forward(x)
            up = F.interpolate(A, size=(150, 150), mode="bilinear", align_corners=False)[0]  # (128, 150, 150)
            lo = up.amin(dim=(1, 2), keepdim=True)
            hi = up.amax(dim=(1, 2), keepdim=True)
            masks = torch.where(hi > lo, (up - lo) / (hi - lo).clamp_min(1e-30), torch.zeros_like(up))[:, None]
            z = torch.cat([self.forward(x * masks[i:i + self.batch])[1] for i in range(0, 128, self.batch)])
            maps = []
            for sign in (-1.0, 1.0):
                m = (A[0] * (sign * z)[:, None, None]).sum(0).relu()
                maps.append(m / m.max() if m.max() > 0 else m)
            return torch.stack(maps).cpu().numpy()

    def filters(self, n, steps):
        torch = self.torch
        img = torch.from_numpy(noise(n)).to(self.dev).permute(0, 3, 1, 2).contiguous(
            memory_format=torch.channels_last)
        idx = torch.arange(n, device=self.dev)
        for _ in range(steps):
            img.requires_grad_(True)
            A, _ = self.forward(img, upto=LAYER)
            loss = A[idx, idx].mean((1, 2)).sum()
            g, = torch.autograd.grad(loss, img)
            with torch.no_grad():
                g = g / (g.square().mean((1, 2, 3), keepdim=True).sqrt() + 1e-5)
                img = (img + 1.0 * g).detach()
        return deprocess(img.permute(0, 2, 3, 1).cpu().numpy())

    def sync(self):
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize()


def time_row(impl, r, plan, px):
    p = plan[r["id"]]
    if r["id"].startswith("gradcam"):
        x = px[:r["images"]]
        run = lambda warm: impl.gradcam(x)  # noqa: E731
    elif r["id"] == "scorecam_1":
        run = lambda warm: impl.scorecam(px)  # noqa: E731
    else:
        run = lambda warm: impl.filters(128, 2 if warm else plan["filter_steps"])  # noqa: E731
    for _ in range(p["warmup"]):
        run(True)
    ms = []
    for _ in range(p["repeats"]):
        impl.sync()
        t0 = time.perf_counter()
        run(False)
        impl.sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    bc.finish_row(r, ms, p["repeats"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--framework", required=True, choices=["tensorflow", "pytorch"])
    ap.add_argument("--variants", default="", help="tensorflow: eager,function (default both); pytorch: eager")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--photos", default="", help="folder with x.npy (N, 150, 150, 3) uint8")
    ap.add_argument("--rows", default="", help="comma-separated row ids (default: all)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=0)
    ap.add_argument("--filter-steps", type=int, default=0, help="steps per filters_128 run (default 40)")
    ap.add_argument("--json")
    ap.add_argument("--no-install", action="store_true", help="never pip-install a missing framework")
    a = ap.parse_args()
    device = a.device
    if a.framework == "tensorflow" and device == "cuda":
        sys.exit("error: --device cuda: this peer runs TensorFlow on the CPU only ; use --framework pytorch")
    if device == "auto":
        device = "cuda" if a.framework == "pytorch" and framework("torch", "torch").cuda.is_available() else "cpu"
    if device == "cuda" and not framework("torch", "torch").cuda.is_available():
        sys.exit("error: --device cuda: torch sees no GPU ; use --device cpu")
    variants = [v for v in (a.variants or ("eager,function" if a.framework == "tensorflow" else "eager")).split(",")]
    allowed = ["eager", "function"] if a.framework == "tensorflow" else ["eager"]
    if any(v not in allowed for v in variants):
        sys.exit("error: --variants %s: %s takes %s" % (a.variants, a.framework, ",".join(allowed)))
    plan = bc.explain_plan(device == "cuda", a.quick, a.repeats, a.filter_steps)
    px, note = photos(a.photos, 32)
    wanted = [r for r in a.rows.split(",") if r] or bc.EXPLAIN_IDS
    rep = {"tool": "bench_explain_peers (%s)" % a.framework, "device": device if device == "cuda" else
           "cpu (%s, %d threads)" % (bc.cpu_model(), os.cpu_count()), "backend": "", "clock": "time.perf_counter",
           "date": bc.utc_now(), "settings": {"explain": plan, "photos": note}, "rows": []}
    names = []
    for v in variants:
        impl = (TF if a.framework == "tensorflow" else Torch)(device, v, plan)
        names.append(impl.name)
        for r in bc.explain_rows(plan, impl.impl, note):
            if r["id"] not in wanted:
                continue
            print("%s: %s ..." % (impl.impl, r["what"]), file=sys.stderr, flush=True)
            try:
                time_row(impl, r, plan, px)
            except Exception as e:  # one case failing (memory, a framework's limit) leaves the others
                msg = str(e).strip().splitlines()
                r["skipped"], r["note"] = True, "%s: %s" % (type(e).__name__, msg[0][:200] if msg else "")
            rep["rows"].append(r)
    rep["backend"] = "; ".join(names)
    sys.stdout.write(bc.table(rep))
    if a.json:
        bc.write_json(rep, a.json)


if __name__ == "__main__":
    main()
