#!/usr/bin/env python3
"""The Keras tutorial CNN in PyTorch, timed in exactly the cases apps/bench times for this
toolkit (same rows, batch sizes, schedule, warm-ups and repeats: bench_common.plan), printing the
same table and JSON, so scripts/bench/bench_compare.py can divide row by row.

Setup, chosen to be PyTorch at its usual best: channels_last, cudnn.benchmark on, TF32 off
unless --tf32 (our backend's default is strict fp32 too), RMSprop(alpha=0.9, eps=1e-8),
BCE-with-logits, batches uploaded each step from pinned in-memory uint8 NHWC tensors and
rescaled on the device (as our backend does). Variants: eager; graphs (the whole step captured
once per batch size with torch.cuda.graph and replayed, optimizer capturable); compile
(torch.compile of the forward + loss; backward through AOTAutograd; optimizer eager).
GPU timing: CUDA events fenced by torch.cuda.synchronize(), as in apps/bench/bench_timer.h.

--profile prints instead, for PyTorch eager, torch.profiler's kernel table of a training step at
batch 20 (and 256 on the GPU): the peer of `bench --profile`, to tell which of our ops is slower.

Usage: bench_pytorch.py [--device auto|cuda|cpu] [--json FILE] [--quick] [--full]
                        [--rows train_b20,...] [--variants eager,graphs,compile] [--tf32] [--profile]
                        [--precision fp32|bf16] [--scaling]
"""
import argparse
import contextlib
import subprocess
import sys
import time

import bench_common as bc


def import_torch(allow_install):
    """torch, or None and why; pip-installs it only when it is missing and installs are allowed."""
    try:
        import torch  # noqa: F401
        return sys.modules["torch"], ""
    except ImportError as e:
        why = "torch is not importable (%s)" % e
    if not allow_install:
        return None, why
    # few retries and a short timeout: an offline machine (the lent GPU box) fails fast
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "20", "torch"],
                       capture_output=True, text=True)
    try:
        import torch  # noqa: F401
        return sys.modules["torch"], ""
    except ImportError:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, why + "; pip install torch failed: " + tail[0][:200]


class Clock:
    def __init__(self, torch, gpu):
        self.torch, self.gpu = torch, gpu
        if gpu:
            self.e0 = torch.cuda.Event(enable_timing=True)
            self.e1 = torch.cuda.Event(enable_timing=True)

    def describe(self):
        return "CUDA events after torch.cuda.synchronize()" if self.gpu else "time.perf_counter"

    def start(self):
        if self.gpu:
            self.torch.cuda.synchronize()
            self.e0.record()
        else:
            self.t0 = time.perf_counter()

    def stop_ms(self):
        if self.gpu:
            self.torch.cuda.synchronize()
            self.e1.record()
            self.e1.synchronize()
            return self.e0.elapsed_time(self.e1)
        return (time.perf_counter() - self.t0) * 1e3


def flat_size(size):
    """conv2d_4's pooled output flattened, at size x size (6272 at 150 px)."""
    for _ in range(4):
        size = (size - 2) // 2
    return size * size * 128


def make_model(torch, size=150):
    nn, F = torch.nn, torch.nn.functional

    class Tutorial(nn.Module):
        """Conv2D 32/64/128/128 3x3 relu + MaxPooling2D 2x2 each, Flatten, Dense 512 relu, Dense 1."""

        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList([nn.Conv2d(a, b, 3) for a, b in [(3, 32), (32, 64), (64, 128), (128, 128)]])
            self.fc1 = nn.Linear(flat_size(size), 512)
            self.fc2 = nn.Linear(512, 1)

        def forward(self, u8, keep: bool = False):
            # u8 (N, H, W, C) uint8 -> an NCHW view with channels_last strides, rescaled like Keras
            h = u8.permute(0, 3, 1, 2).float() * (1.0 / 255)
            acts = []
            for conv in self.convs:
                h = F.relu(conv(h))
                acts.append(h)
                h = F.max_pool2d(h, 2)
                acts.append(h)
            h = h.permute(0, 2, 3, 1).flatten(1)  # Keras' Flatten order (H, W, C)
            acts.append(h)
            h = F.relu(self.fc1(h))
            acts.append(h)
            z = self.fc2(h).squeeze(1)
            acts.append(torch.sigmoid(z))
            return z, (acts if keep else [])

    return Tutorial


class Runner:
    """One model + optimizer per variant; makes the step callables the rows time."""

    def __init__(self, torch, dev, variant, size=150, precision="fp32"):
        self.torch, self.dev, self.variant, self.size = torch, dev, variant, size
        self.F = torch.nn.functional
        # bf16: torch.autocast around the forward, as PyTorch's mixed-precision recipe (bf16
        # convolutions and linear layers, float32 weights and optimizer); the loss takes the logit
        # in float32.
        self.autocast = (lambda: torch.autocast(device_type=dev, dtype=torch.bfloat16)) if precision == "bf16" else \
            contextlib.nullcontext
        torch.manual_seed(1)
        self.model = make_model(torch, size)().to(dev, memory_format=torch.channels_last)
        self.opt = torch.optim.RMSprop(self.model.parameters(), lr=1e-4, alpha=0.9, eps=1e-8,
                                       capturable=(variant == "graphs"))
        self.sums = torch.zeros(2, device=dev)  # running [loss sum, correct], read once per epoch
        fwd = self.model
        if variant == "compile":
            fwd = torch.compile(self.model, dynamic=False)
        self.fwd = fwd

    def _loss(self, x, y):
        with self.autocast():
            z, _ = self.fwd(x)
        z = z.float()
        loss = self.F.binary_cross_entropy_with_logits(z, y)
        self.sums += self.torch.stack([loss.detach() * x.shape[0], ((z > 0) == (y > 0.5)).sum().float()])
        return loss

    def _train(self, x, y):
        loss = self._loss(x, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def _eval(self, x, y):
        with self.torch.no_grad():
            self._loss(x, y)

    def _dump(self, x):
        with self.torch.no_grad(), self.autocast():
            return self.fwd(x, True)[1]

    def take_metrics(self):
        v = self.sums.tolist()
        self.sums.zero_()
        return v

    def step_fn(self, kind, n):
        """kind: train | eval | dump. Returns f(x_host, y_host); dump's f returns host copies."""
        torch = self.torch
        body = {"train": self._train, "eval": lambda x, y: self._eval(x, y), "dump": lambda x, y: self._dump(x)}[kind]
        # Host buffers made once per step function and reused, as our bench reuses its own: a fresh
        # ~6 MB per image each batch would time the page faults of new host memory as well.
        host = []

        def to_host(acts):
            views = [a.permute(0, 2, 3, 1) if a.dim() == 4 else a for a in acts]
            if not host:  # same strides as the views: each copy is one plain device-to-host copy
                host.extend(torch.empty_like(v, device="cpu") for v in views)
            for h, v in zip(host, views):
                h.copy_(v)
            return host
        if self.variant != "graphs":
            def run(xh, yh):
                out = body(xh.to(self.dev, non_blocking=True), yh.to(self.dev, non_blocking=True))
                return to_host(out) if kind == "dump" else None
            return run
        # Whole-step capture (PyTorch's "whole network capture" recipe): warm up on a side stream,
        # capture once, then each step copies the batch into the static inputs and replays.
        sx = torch.zeros((n, self.size, self.size, 3), dtype=torch.uint8, device=self.dev)
        sy = torch.zeros((n,), device=self.dev)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                body(sx, sy)
        torch.cuda.current_stream().wait_stream(side)
        if kind == "train":
            self.opt.zero_grad(set_to_none=True)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            static_out = body(sx, sy)
        self.take_metrics()

        def replay(xh, yh):
            sx.copy_(xh, non_blocking=True)
            sy.copy_(yh, non_blocking=True)
            g.replay()
            return to_host(static_out) if kind == "dump" else None
        return replay


class Pool:
    """Random uint8 images (count, size, size, 3) and 0/1 labels in (pinned) host memory."""

    def __init__(self, torch, count, seed, pin, size=150):
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 256, (count, size, size, 3), dtype=torch.uint8, generator=gen)
        self.y = torch.randint(0, 2, (count,), generator=gen).float()
        if pin:
            self.x, self.y = self.x.pin_memory(), self.y.pin_memory()
        self.count = count

    def batch(self, first, n):
        at = 0 if first % self.count + n > self.count else first % self.count
        return self.x[at:at + n], self.y[at:at + n]


def time_steps(r, runner, clock, kind, batch, p, pin):
    pool = Pool(runner.torch, 4 * batch, 7, pin, runner.size)
    step = runner.step_fn(kind, batch)
    nxt = [0]

    def one():
        step(*pool.batch(nxt[0], batch))
        nxt[0] += batch
    for _ in range(p["warmup"]):
        one()
    runner.take_metrics()
    ms = []
    for _ in range(p["repeats"]):
        clock.start()
        for _ in range(p["per_repeat"]):
            one()
        ms.append(clock.stop_ms() / p["per_repeat"])
        runner.take_metrics()
    bc.finish_row(r, ms, p["repeats"] * p["per_repeat"])


def time_dump(r, runner, clock, images, batch, p, pin):
    batch = min(images, batch)
    pool = Pool(runner.torch, max(images, batch), 11, pin)
    fns = {}

    def run():
        for i in range(0, images, batch):
            n = min(batch, images - i)
            if n not in fns:
                fns[n] = runner.step_fn("dump", n)
            acts = fns[n](*pool.batch(i, n))
            assert len(acts) == 11
    for _ in range(p["warmup"]):  # whole runs: the last, partial batch has its own shape
        run()
    ms = []
    for _ in range(p["repeats"]):
        clock.start()
        run()
        ms.append(clock.stop_ms())
    bc.finish_row(r, ms, p["repeats"])


def time_schedule(r, runner, clock, sc, pin):
    b = sc["batch"]
    train, val = Pool(runner.torch, sc["train_steps"] * b, 13, pin), Pool(runner.torch, sc["val_steps"] * b, 17, pin)
    tstep, vstep = runner.step_fn("train", b), runner.step_fn("eval", b)
    for i in range(3):
        tstep(*train.batch(i * b, b))
    vstep(*val.batch(0, b))
    runner.take_metrics()
    clock.start()
    for _ in range(sc["epochs"]):
        for i in range(sc["train_steps"]):
            tstep(*train.batch(i * b, b))
        runner.take_metrics()
        for i in range(sc["val_steps"]):
            vstep(*val.batch(i * b, b))
        runner.take_metrics()
    bc.finish_row(r, [clock.stop_ms()], 1)


def profile(torch, gpu, batches, steps=5):
    """torch.profiler over `steps` eager training steps per batch size; the per-step kernel table."""
    from torch.profiler import ProfilerActivity, profile as torch_profile
    runner = Runner(torch, "cuda" if gpu else "cpu", "eager")
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    key = "cuda_time_total" if gpu else "self_cpu_time_total"
    for batch in batches:
        pool = Pool(torch, batch, 5, gpu)
        step = runner.step_fn("train", batch)
        for _ in range(5):
            step(*pool.batch(0, batch))
        if gpu:
            torch.cuda.synchronize()
        with torch_profile(activities=acts) as prof:
            for _ in range(steps):
                step(*pool.batch(0, batch))
            if gpu:
                torch.cuda.synchronize()
        print("pytorch profile: %d eager training steps at batch %d (%s); totals over the %d steps, sorted by %s"
              % (steps, batch, describe(torch, gpu), steps, key))
        print(prof.key_averages().table(sort_by=key, row_limit=25))


def describe(torch, gpu):
    if gpu:
        return "torch %s (CUDA %s, cuDNN %s, %s)" % (torch.__version__, torch.version.cuda,
                                                    torch.backends.cudnn.version(), torch.cuda.get_device_name())
    return "torch %s CPU (%d threads, mkldnn %s)" % (torch.__version__, torch.get_num_threads(),
                                                     torch.backends.mkldnn.is_available())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bc.add_common_args(ap, "torch")
    ap.add_argument("--variants", default="", help="eager,graphs,compile (default: all three on CUDA, eager on CPU)")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in cuDNN and cuBLAS")
    ap.add_argument("--profile", action="store_true",
                    help="instead of the rows: torch.profiler's table for eager training steps")
    a = ap.parse_args()

    torch, why = import_torch(not a.no_install)
    gpu = torch is not None and a.device != "cpu" and torch.cuda.is_available()
    if torch is not None and a.device == "cuda" and not gpu:
        why = "no usable GPU: torch.cuda.is_available() is False"
    if torch is not None and a.device == "auto" and not gpu:
        print("bench_pytorch: no usable GPU; timing the CPU", file=sys.stderr)
    on_gpu = a.device == "cuda" or gpu
    s = bc.plan(on_gpu, a.quick, a.full, a.repeats)
    variants = [v for v in (a.variants or ("eager,graphs,compile" if on_gpu else "eager")).split(",") if v]
    rows_wanted = set(a.rows.split(",")) if a.rows else set(bc.ROW_IDS)
    rep = {"tool": "pytorch bench", "device": "cuda" if on_gpu else "cpu (%s)" % bc.cpu_model(),
           "backend": describe(torch, gpu) if torch is not None and not why else "pytorch (not run)",
           "clock": "", "version": sys.version.split()[0], "date": bc.utc_now(),
           "settings": dict(s, tf32=a.tf32, quick=a.quick, full=a.full, variants=variants, precision=a.precision),
           "flop_per_image": {"forward": bc.FORWARD_FLOP, "train": bc.TRAIN_FLOP}, "rows": []}
    clock = Clock(torch, gpu) if torch is not None and not why else None
    rep["clock"] = clock.describe() if clock else "none"
    if gpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
    dev = "cuda" if gpu else "cpu"
    if a.profile:
        if why:
            sys.exit("bench_pytorch: " + why)
        profile(torch, gpu, [20, 256] if gpu else [4 if a.quick else 20])
        return
    for variant in variants:
        runner, runner_error = None, why
        if not runner_error:
            if variant == "graphs" and not gpu:
                runner_error = "CUDA graphs need a GPU"
            else:
                try:
                    runner = Runner(torch, dev, variant, precision=a.precision)
                except Exception as e:  # e.g. an unknown variant's setup failing: report, go on
                    runner_error = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")

        def time_row(r, runner=runner):
            if r["id"] in ("train_b20", "train_b256", "eval_b20"):
                time_steps(r, runner, clock, "eval" if r["id"] == "eval_b20" else "train", r["batch"], s[r["id"]],
                           gpu)
            elif r["id"] == "schedule":
                time_schedule(r, runner, clock, s["schedule"], gpu)
            else:
                time_dump(r, runner, clock, r["images"], s["dump_batch"], s[r["id"]], gpu)
        if a.scaling:
            bc.run_scaling(rep, s, "pytorch " + variant, a.rows, runner_error, runner,
                           lambda size, variant=variant: Runner(torch, dev, variant, size, a.precision),
                           lambda r, rn, sp: time_steps(r, rn, clock, "train", r["batch"], sp, gpu),
                           "bench_pytorch " + variant, on_gpu, a.quick, a.repeats)
        else:
            bc.run_rows(rep, s, "pytorch " + variant, rows_wanted, runner_error, time_row,
                        "bench_pytorch " + variant)
    sys.stdout.write(bc.table(rep))
    if a.json:
        bc.write_json(rep, a.json)


if __name__ == "__main__":
    main()
