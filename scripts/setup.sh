#!/usr/bin/env bash
# Installs what building and testing need on a Debian/Ubuntu machine, then configures and builds
# into build/: with the CUDA backend where the CUDA toolkit (nvcc, cuDNN, cuBLAS) is installed,
# the CPU-only product where it is not. Idempotent: installs only what is missing.
# Usage: scripts/setup.sh [extra cmake args...]   (-DACTS_WITH_CUDA=ON|OFF|AUTO overrides the choice)
#        ACTS_BUILD_TARGETS="a b" builds only those targets (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

# The CUDA toolkit: nvcc on PATH or in its usual place. Without it, one line and the CPU-only
# product (the emulated CUDA suites of tests/cuda_emu still build and run), unless the caller
# chose with -DACTS_WITH_CUDA=... (ON then fails in CMake, naming what is missing).
cuda_args=()
cuda_chosen=""
for a in "$@"; do
  case $a in -DACTS_WITH_CUDA=* | -DACTS_WITH_CUDA:* | ACTS_WITH_CUDA=* | ACTS_WITH_CUDA:*) cuda_chosen=1 ;; esac
done
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
if [ -z "$cuda_chosen" ]; then
  if command -v nvcc >/dev/null 2>&1; then
    cuda_args=(-DACTS_WITH_CUDA=AUTO)  # also undoes an OFF cached before the toolkit came
  else
    echo "setup: no CUDA toolkit (nvcc) here: building the CPU-only product (CUDA backend and its tests left out)"
    cuda_args=(-DACTS_WITH_CUDA=OFF)
  fi
fi

packages=(build-essential cmake ninja-build pkg-config libopencv-dev libgtest-dev libbenchmark-dev libopenblas-dev python3)
# oneDNN (the CPU backend's convolutions) where the distribution has it; without it CMake falls
# back to im2col + OpenBLAS convolutions and says so. nlohmann-json and CLI11 as packages where
# they can be had; without them CMake takes the copies in third_party/ and says so. HDF5 and
# libzip for Keras' .h5/.keras files; without them the apps refuse those files in one line naming
# the packages, and CMake says so. libwebp for dump_acts --animate (refused without it).
optional=(libdnnl-dev nlohmann-json3-dev libcli11-dev libhdf5-dev libzip-dev libwebp-dev)
missing=()
only_optional=1
for p in "${packages[@]}" "${optional[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 && continue
  missing+=("$p")
  [[ " ${optional[*]} " == *" $p "* ]] || only_optional=""
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  if [ -z "$only_optional" ]; then
    $sudo_cmd apt-get update -qq
  elif ! { command -v apt-get >/dev/null 2>&1 && $sudo_cmd apt-get update -qq; }; then
    # Only what the build can do without is missing: no apt (offline, another distribution) is fine.
    echo "setup: apt-get cannot update here; building without ${missing[*]}"
    missing=()
  fi
  install=()
  for p in "${missing[@]}"; do
    if [[ " ${optional[*]} " == *" $p "* ]] && [ -z "$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: \([^(]\)/\1/p')" ]; then
      echo "setup: $p is not available here; building without it"
      continue
    fi
    install+=("$p")
  done
  if [ ${#install[@]} -gt 0 ]; then
    echo "setup: installing ${install[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${install[@]}" >/dev/null
  fi
fi
build_dir=${ACTS_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cuda_args[@]}" "$@" >/dev/null
# ACTS_BUILD_TARGETS="train_gpu dump_acts ...": only those (docker/Dockerfile's ACTS_TESTS=0); default all.
# shellcheck disable=SC2086  # the target list is split on purpose
cmake --build "$build_dir" -j"$(nproc)" ${ACTS_BUILD_TARGETS:+--target $ACTS_BUILD_TARGETS}
