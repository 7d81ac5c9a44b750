#!/usr/bin/env python3
"""The layout the docs promise is the layout of the tree:
  - every path named in backquotes in docs/ARCHITECTURE.md and docs/adding-a-layer.md exists
    (placeholders such as <name> are skipped; a bare file name must exist somewhere);
  - every op registered in runtime/ops/ops.def has its three files, and every op folder is registered;
  - no code outside the registries switches on the layer type (`case LayerType::`).
Exit 0 when all hold, 1 with one line per problem."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ["docs/ARCHITECTURE.md", "docs/adding-a-layer.md"]
problems = []

files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
if not files:  # not a git checkout (an exported tree): walk it instead
    for d, _, names in os.walk(ROOT):
        files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
basenames = {os.path.basename(f) for f in files}

PATHLIKE = re.compile(r"^[\w./-]+$")
for doc in DOCS:
    text = open(os.path.join(ROOT, doc)).read()
    for token in re.findall(r"`([^`\n]+)`", text):
        token = token.strip()
        if not PATHLIKE.match(token) or token.startswith(("-", ".")) or "/" not in token and "." not in token:
            continue  # flags, commands, placeholders (<name>), code
        if "/" not in token and not re.search(r"\.(cpp|h|cu|cuh|py|sh|md|def|txt|json)$", token):
            continue  # identifiers such as Backend::train_step or cpu_fast::parallel_ranges
        if "/" in token:
            if not os.path.exists(os.path.join(ROOT, token)):
                problems.append(f"{doc}: `{token}` does not exist")
        elif token not in basenames:
            problems.append(f"{doc}: no file named `{token}` in the tree")

ops_def = open(os.path.join(ROOT, "runtime/ops/ops.def")).read()
registered = re.findall(r"^ACTS_OP\((\w+), (\w+)\)", ops_def, re.M)
for cls, folder in registered:
    for suffix in ("", "_cpu", "_cuda"):
        path = f"runtime/ops/{folder}/{folder}{suffix}.cpp"
        if not os.path.exists(os.path.join(ROOT, path)):
            problems.append(f"runtime/ops/ops.def: {cls} has no {path}")
folders = {d for d in os.listdir(os.path.join(ROOT, "runtime/ops")) if os.path.isdir(os.path.join(ROOT, "runtime/ops", d))}
for d in sorted(folders - {f for _, f in registered}):
    problems.append(f"runtime/ops/{d}/ is not registered in runtime/ops/ops.def")

for f in files:
    if f.startswith(("runtime/", "apps/", "kernels/")) and f.endswith((".cpp", ".h", ".cu", ".cuh")):
        for n, line in enumerate(open(os.path.join(ROOT, f), errors="replace"), 1):
            if re.search(r"\bcase\s+LayerType::", line):
                problems.append(f"{f}:{n}: a switch on the layer type outside the op registry")

for p in problems:
    print(p)
print(f"docs_paths: {len(problems)} problem(s); {len(registered)} ops registered")
sys.exit(1 if problems else 0)
