#!/usr/bin/env python3
"""Sets two or more training histories (train_gpu's history.csv, or keras_tutorial.py's, which has
the same columns) side by side: per epoch loss/acc/val_loss/val_acc, then a summary per run
(best val_acc and its epoch, the last epoch, the mean of the last 10 epochs). Standard library only.

Usage: compare_histories.py NAME=history.csv NAME=history.csv [...] [--markdown]
"""
import argparse
import csv
import sys

COLS = ("loss", "acc", "val_loss", "val_acc")


def load(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit("compare_histories: %s: %s" % (path, e.strerror))
    if not rows or any(c not in rows[0] for c in ("epoch",) + COLS):
        sys.exit("compare_histories: %s: not a history.csv (wants the columns epoch,%s)" % (path, ",".join(COLS)))
    return {int(r["epoch"]): {c: float(r[c]) for c in COLS + ("seconds",) if r.get(c)} for r in rows}


def summary(h):
    epochs = sorted(h)
    best = max(epochs, key=lambda e: h[e]["val_acc"])
    tail = epochs[-10:]
    return {"epochs": len(epochs), "best_val_acc": h[best]["val_acc"], "best_epoch": best,
            "last_val_acc": h[epochs[-1]]["val_acc"], "last_acc": h[epochs[-1]]["acc"],
            "mean_val_acc_last10": sum(h[e]["val_acc"] for e in tail) / len(tail),
            "min_val_loss": min(h[e]["val_loss"] for e in epochs),
            "min_val_loss_epoch": min(epochs, key=lambda e: h[e]["val_loss"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="NAME=path/to/history.csv")
    ap.add_argument("--markdown", action="store_true", help="Markdown tables")
    a = ap.parse_args()
    runs = []
    for spec in a.runs:
        name, sep, path = spec.partition("=")
        if not sep:
            sys.exit("compare_histories: %r: give NAME=history.csv" % spec)
        runs.append((name, load(path)))
    sep = " | " if a.markdown else "  "
    head = ["epoch"] + ["%s %s" % (n, c) for n, _ in runs for c in ("acc", "val_acc", "val_loss")]
    lines = [sep.join(head)]
    if a.markdown:
        lines = ["| " + lines[0] + " |", "|" + "---:|" * len(head)]
    for e in sorted(set().union(*(h.keys() for _, h in runs))):
        cells = [str(e)] + ["%.3f" % h[e][c] if e in h else "-" for _, h in runs for c in ("acc", "val_acc", "val_loss")]
        lines.append(("| " + sep.join(cells) + " |") if a.markdown else sep.join(cells))
    print("\n".join(lines) + "\n")
    keys = ["epochs", "best_val_acc", "best_epoch", "last_val_acc", "mean_val_acc_last10", "last_acc",
            "min_val_loss", "min_val_loss_epoch"]
    rows = [["run"] + keys] + [[n] + [("%.3f" % v if isinstance(v, float) else str(v))
                                      for v in (summary(h)[k] for k in keys)] for n, h in runs]
    if a.markdown:
        print("| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0]))
        print("\n".join("| " + " | ".join(r) + " |" for r in rows[1:]))
    else:
        print("\n".join("  ".join(r) for r in rows))


if __name__ == "__main__":
    main()
