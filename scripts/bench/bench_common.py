"""Shared by bench_pytorch.py, bench_keras.py and bench_compare.py: the FLOP counts, the bench
plan (a mirror of apps/bench/bench_plan.cpp, so the peers time exactly the work the C++ bench times),
the flags every peer takes, the row loop, the row format and the table. Standard library only."""
import datetime
import json
import os
import sys
import tempfile


def tutorial_forward_flop(size):
    """tutorial_forward_flop() of apps/bench/bench_report.h: forward FLOPs of one size x size image
    (one multiply-add = 2), 0.472190976e9 at 150 px."""
    macs, s, c = 0, size, 3
    for f in (32, 64, 128, 128):
        s -= 2
        macs += s * s * f * 9 * c
        s //= 2
        c = f
    return 2.0 * (macs + s * s * c * 512 + 512)


# Per image at 150 px; the derivation from the layer shapes is in apps/bench/bench_report.h.
FORWARD_FLOP = tutorial_forward_flop(150)
TRAIN_FLOP = 3 * FORWARD_FLOP

ROW_IDS = ["train_b20", "train_b256", "eval_b20", "schedule", "dump_1", "dump_1000"]


def plan(gpu, quick=False, full=False, repeats=0):
    """The same numbers as make_settings() in apps/bench/bench_plan.cpp."""
    small = not gpu and not full
    if gpu:
        steps = {"train_b20": [10, 10, 20], "train_b256": [5, 10, 5], "eval_b20": [10, 10, 20],
                 "dump_1": [5, 20, 1], "dump_1000": [1, 3, 1]}
    else:
        steps = {"train_b20": [1, 5, 1], "train_b256": [1, 3, 1], "eval_b20": [1, 5, 1],
                 "dump_1": [2, 10, 1], "dump_1000": [1, 3, 1]}
    s = {"schedule": {"epochs": 30, "train_steps": 100, "val_steps": 50, "batch": 20},
         "dump_images": 1000, "dump_batch": 32, "b256_skip": ""}
    if small:
        s["b256_skip"] = "skipped on the CPU by default (--full runs it)"
        s["schedule"] = {"epochs": 1, "train_steps": 10, "val_steps": 5, "batch": 20}
        s["dump_images"] = 96
    if quick:
        steps = {k: [min(w, 3), min(r, 3), min(p, 5)] for k, (w, r, p) in steps.items()}
        s["schedule"] = ({"epochs": 2, "train_steps": 10, "val_steps": 5, "batch": 20} if gpu
                         else {"epochs": 1, "train_steps": 3, "val_steps": 2, "batch": 20})
        s["dump_images"] = 100 if gpu else 32
    if repeats > 0:
        for v in steps.values():
            v[1] = repeats
    for k, (w, r, p) in steps.items():
        s[k] = {"warmup": w, "repeats": r, "per_repeat": p}
    sc = s["schedule"]
    s["schedule_note"] = ("" if (sc["epochs"], sc["train_steps"], sc["val_steps"]) == (30, 100, 50) else
                          "SCALED DOWN: %d x (%d+%d) steps of the tutorial's 30 x (100+50)"
                          % (sc["epochs"], sc["train_steps"], sc["val_steps"]))
    s["dump_note"] = "" if s["dump_images"] == 1000 else "SCALED DOWN: %d of 1000 images" % s["dump_images"]
    return s


def planned_rows(s, impl):
    """Rows in table order, as planned_rows() in apps/bench/bench_plan.cpp."""
    def row(rid, what, batch, images, unit, gflop, note, skipped=False):
        return {"id": rid, "what": what, "impl": impl, "batch": batch, "images": images, "unit": unit,
                "gflop": gflop, "repeats": 0, "skipped": skipped, "note": note}
    sc = s["schedule"]
    tr = sc["epochs"] * sc["train_steps"] * sc["batch"]
    va = sc["epochs"] * sc["val_steps"] * sc["batch"]
    return [
        row("train_b20", "training step, batch 20", 20, 20, "step", 20 * TRAIN_FLOP / 1e9, ""),
        row("train_b256", "training step, batch 256", 256, 256, "step", 256 * TRAIN_FLOP / 1e9, s["b256_skip"],
            bool(s["b256_skip"])),
        row("eval_b20", "validation step, batch 20", 20, 20, "step", 20 * FORWARD_FLOP / 1e9, ""),
        row("schedule", "tutorial fit (train + validation)", sc["batch"], tr + va, "run",
            (tr * TRAIN_FLOP + va * FORWARD_FLOP) / 1e9, s["schedule_note"]),
        row("dump_1", "dump_acts forward, 1 image", 1, 1, "run", FORWARD_FLOP / 1e9, ""),
        row("dump_1000", "dump_acts forward, 1000 images", s["dump_batch"], s["dump_images"], "run",
            s["dump_images"] * FORWARD_FLOP / 1e9, s["dump_note"]),
    ]


def add_common_args(ap, peer):
    """The flags bench_compare.py passes to every peer (and apps/bench takes too)."""
    ap.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--rows", default="", help="comma-separated row ids (default: all)")
    ap.add_argument("--quick", action="store_true", help="scale every case down")
    ap.add_argument("--full", action="store_true", help="on the CPU too, run every case at full size")
    ap.add_argument("--repeats", type=int, default=0)
    ap.add_argument("--no-install", action="store_true", help="never pip-install a missing %s" % peer)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="bf16: mixed precision (Keras' mixed_bfloat16, torch.autocast bfloat16)")
    ap.add_argument("--scaling", action="store_true",
                    help="instead of the rows: a training step at batch 1..256 (150 px) and 150..600 px (batch 8)")


def run_rows(rep, s, impl, wanted, why, time_row, label, rows=None):
    """Times the planned rows (or `rows`) in `wanted` into rep["rows"]: time_row(r) fills one row.
    A row that cannot run (`why`, or time_row raising: torch.compile or a capture failing for one
    case, an allocation failing) is kept as skipped with the reason, and the others go on."""
    for r in planned_rows(s, impl) if rows is None else rows:
        if r["id"] not in wanted:
            continue
        if why and not r["skipped"]:
            r["skipped"], r["note"] = True, why
        if not r["skipped"]:
            print("%s: %s ..." % (label, r["what"]), file=sys.stderr, flush=True)
            try:
                time_row(r)
            except Exception as e:
                msg = str(e).strip().splitlines()
                r["skipped"], r["note"] = True, "%s: %s" % (type(e).__name__, msg[0][:200] if msg else "")
                for k in ("ms", "images_per_s", "tflops"):
                    r.pop(k, None)
        rep["rows"].append(r)


def finish_row(r, ms_values, repeats):
    """Median of ms_values into the row, with the derived rates."""
    v = sorted(ms_values)
    m = len(v) // 2
    r["ms"] = v[m] if len(v) % 2 else 0.5 * (v[m - 1] + v[m])
    r["repeats"] = repeats
    r["images_per_s"] = r["images"] / (r["ms"] / 1e3) if r["ms"] > 0 else 0
    r["tflops"] = r["gflop"] / r["ms"] if r["ms"] > 0 else 0


def cpu_model():
    """The CPU's name from /proc/cpuinfo, for the table's device line."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(rep):
    """The same layout as table() in apps/bench/bench_report.cpp."""
    out = ["%s on %s: %s" % (rep["tool"], rep["device"], rep["backend"]),
           "timing: %s; medians over the repeats; %s" % (rep["clock"], rep["date"]),
           "%-13s %-16s %-34s %11s %10s %8s  %s" % ("row", "impl", "case", "ms/unit", "images/s", "TFLOP/s", "note")]
    for w in rep["rows"]:
        if w["skipped"]:
            out.append("%-13s %-16s %-34s %11s %10s %8s  skipped: %s" % (w["id"], w["impl"], w["what"], "-", "-", "-",
                                                                        w["note"]))
        else:
            note = "%s, n=%d" % (w["unit"], w["repeats"]) + ("; " + w["note"] if w["note"] else "")
            out.append("%-13s %-16s %-34s %11.3f %10.1f %8.3f  %s" % (w["id"], w["impl"], w["what"], w["ms"],
                                                                      w["images_per_s"], w["tflops"], note))
    return "\n".join(out) + "\n"


def write_json(rep, path):
    """Atomically: a reader never sees half a file."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".bench-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(rep, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


# bench --scaling (apps/bench/bench_scaling.h): a training step against batch and input size, the
# plan mirroring scaling_plan() in apps/bench/bench_scaling.cpp.
SCALING_CELLS = [(1, 150), (8, 150), (20, 150), (64, 150), (256, 150), (8, 300), (8, 600)]


def scaling_id(batch, size):
    return "step_b%d_%d" % (batch, size)


SCALING_IDS = [scaling_id(b, z) for b, z in SCALING_CELLS]


def scaling_plan(gpu, quick=False, repeats=0):
    """The same numbers as scaling_plan() in apps/bench/bench_scaling.cpp."""
    w, r, p = (3, 10, 5) if gpu else (1, 3, 1)
    if quick:
        w, r, p = 1, 1, 1
    if repeats > 0:
        r = repeats
    return {"warmup": w, "repeats": r, "per_repeat": p, "cells": [list(c) for c in SCALING_CELLS]}



def scaling_rows(impl):
    return [{"id": scaling_id(b, z), "what": "training step, batch %d, %dx%d" % (b, z, z), "impl": impl, "batch": b,
             "images": b, "unit": "step", "gflop": b * 3 * tutorial_forward_flop(z) / 1e9, "repeats": 0,
             "skipped": False, "note": "", "size": z} for b, z in SCALING_CELLS]


def run_scaling(rep, s, impl, rows_arg, why, first, make, time_train, label, gpu, quick=False, repeats=0):
    """A peer's `--scaling`: the scaling plan into rep["settings"], then each wanted cell (--rows,
    else every one) timed by time_train(r, model, plan) on a model of the cell's size: `first` (the
    150 px one the peer made already), or make(size). One size's model is held at a time: the
    600 px one holds 80 M weights. A cell that cannot run (`why`, or an exception) is skipped with
    the reason, as run_rows() does."""
    sp = scaling_plan(gpu, quick, repeats)
    rep["settings"]["scaling"] = sp
    models = {150: first}

    def time_cell(r):
        if r["size"] not in models:
            models.clear()
            models[r["size"]] = make(r["size"])
        time_train(r, models[r["size"]], sp)
    wanted = set(rows_arg.split(",")) if rows_arg else set(SCALING_IDS)
    run_rows(rep, s, impl, wanted, why, time_cell, label, scaling_rows(impl))


# bench --explain (apps/bench/bench_explain.h): the heatmap and filter-pattern rows, their plan
# mirroring make_explain_plan() in apps/bench/bench_explain.cpp.
EXPLAIN_IDS = ["gradcam_1", "gradcam_32", "scorecam_1", "filters_128"]


def explain_plan(gpu, quick=False, repeats=0, filter_steps=0):
    """The same numbers as make_explain_plan() in apps/bench/bench_explain.cpp."""
    if gpu:
        steps = {"gradcam_1": [5, 20], "gradcam_32": [5, 20], "scorecam_1": [3, 10], "filters_128": [1, 3]}
    else:
        steps = {"gradcam_1": [2, 10], "gradcam_32": [1, 5], "scorecam_1": [1, 3], "filters_128": [1, 1]}
    s = {"filter_steps": 40, "scorecam_batch": 32}
    if quick:
        steps = {k: [min(w, 1), min(r, 2)] for k, (w, r) in steps.items()}
        s["filter_steps"] = 4
    if filter_steps > 0:
        s["filter_steps"] = filter_steps
    if repeats > 0:
        for v in steps.values():
            v[1] = repeats
    for k, (w, r) in steps.items():
        s[k] = {"warmup": w, "repeats": r}
    return s


def explain_rows(s, impl, photos_note):
    """Rows in table order, as explain_rows() in apps/bench/bench_explain.cpp."""
    def row(rid, what, batch, images, note):
        return {"id": rid, "what": what, "impl": impl, "batch": batch, "images": images, "unit": "run",
                "gflop": 0, "repeats": 0, "skipped": False, "note": note}
    st = s["filter_steps"]
    return [row("gradcam_1", "Grad-CAM conv2d_4, 1 img, 2 cls", 1, 1, photos_note),
            row("gradcam_32", "Grad-CAM conv2d_4, 32 img, 2 cls", 32, 32, photos_note),
            row("scorecam_1", "Score-CAM conv2d_4 128 ch, 1 img", s["scorecam_batch"], 1, photos_note),
            row("filters_128", "filters conv2d_4, 128 x %d steps" % st, 128, 128,
                "" if st == 40 else "SCALED DOWN: %d of 40 steps" % st)]
