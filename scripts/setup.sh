#!/usr/bin/env bash
# Installs what building and testing need on a Debian/Ubuntu machine that already has the CUDA
# toolkit (nvcc, cuDNN, cuBLAS), then configures and builds into build/. Idempotent: installs
# only what is missing. Usage: scripts/setup.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config libopencv-dev libgtest-dev libbenchmark-dev libopenblas-dev python3)
# oneDNN (the CPU backend's convolutions) where the distribution has it; without it CMake falls
# back to im2col + OpenBLAS convolutions and says so.
optional=(libdnnl-dev)
missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
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
if ! command -v nvcc >/dev/null 2>&1; then
  if [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
  else
    echo "setup: nvcc not found: install the CUDA toolkit (with cuDNN) first, or configure with -DACTS_WITH_CUDA=OFF" >&2
    exit 1
  fi
fi
build_dir=${ACTS_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
