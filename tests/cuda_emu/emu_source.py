#!/usr/bin/env python3
"""Turns a kernels/cuda/*.cu file into C++ for the kernel emulator (cuda_emu.h): each launch
`kernel<<<grid, block, smem, stream>>>(` becomes `::acts_emu::launch(kernel, grid, block, smem,
stream)(`, or `launch_with_barriers` when the kernel's body calls __syncthreads (its threads
must then run concurrently); nothing else changes, and a #line directive keeps compiler errors
pointing at the .cu.
Fails if a launch does not name all four configuration values (the emulator needs the block).
Usage: emu_source.py IN.cu OUT.cpp"""
import re
import sys

LAUNCH = re.compile(r"([A-Za-z_][\w:]*(?:<[^<>;]*>)?)\s*<<<(.*?)>>>\s*\(", re.S)


def top_level_args(text):
    """Comma-separated values of `text` that are not inside parentheses or braces."""
    args, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "({[" and 1 or ch in ")}]" and -1 or 0
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return args + [cur.strip()]


def kernels_with_barriers(text):
    """Names of the __global__ functions whose body (braces matched) calls __syncthreads."""
    names = set()
    for m in re.finditer(r"__global__\s+void\s+(\w+)\s*\(", text):
        open_at = text.index("{", m.end())
        depth, i = 0, open_at
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        if "__syncthreads" in text[open_at:i]:
            names.add(m.group(1))
    return names


def rewrite(text, path):
    barriers = kernels_with_barriers(text)

    def one(m):
        config = top_level_args(m.group(2))
        if len(config) != 4:
            sys.exit("emu_source: %s: launch of %s needs <<<grid, block, smem, stream>>>" % (path, m.group(1)))
        name = re.sub(r"<.*", "", m.group(1)).split("::")[-1]
        how = "launch_with_barriers" if name in barriers else "launch"
        return "::acts_emu::%s(%s, %s)(" % (how, m.group(1), ", ".join(config))
    out, n = LAUNCH.subn(one, text)
    if "<<<" in out:
        sys.exit("emu_source: %s: a launch the rewrite did not understand is left" % path)
    return '#line 1 "%s"\n' % path + out, n


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        text, n = rewrite(f.read(), src)
    with open(dst, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
