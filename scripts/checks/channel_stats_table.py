#!/usr/bin/env python3
"""The dead and collapsed channels of a train_gpu run, per layer and record, as a table (Markdown
with --markdown), from the run's stats/index.json (docs/channel-stats.md). Standard library only.

Usage: scripts/checks/channel_stats_table.py RUN_DIR [--markdown]
"""
import argparse
import json
import os
import signal
import sys


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the table quietly
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="a train_gpu run folder")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    path = os.path.join(a.run, "stats", "index.json")
    try:
        with open(path) as f:
            index = json.load(f)
        records, layers = index["records"], index["layers"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit("channel_stats_table: %s: %s; give a run folder train_gpu wrote with its statistics" % (path, e))
    head = ["epoch.step"] + ["%s (%d)" % (l["name"], l["channels"]) for l in layers]
    rows = [["%d.%d" % (r["epoch"], r["step"])] + ["%d / %d" % (l["dead"][i], l["collapsed"][i]) for l in layers]
            for i, r in enumerate(records)]
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        for r in [head] + rows:
            print("  ".join(x.rjust(w) for x, w in zip(r, widths)))
    print("\n(dead / collapsed channels of each layer; in brackets its channel count)")


if __name__ == "__main__":
    main()
