#!/usr/bin/env bash
# The README's main job: set up, build, train on a dataset (default: the small sample bundled in
# data/sample), then dump what conv2d_3 sees for the first test photo.
#   scripts/run_sample.sh [DATA_DIR] [extra train_gpu flags...]
# On a machine without a GPU (or without the CUDA toolkit, where setup.sh builds the CPU-only
# product) this runs on the CPU backend with a short schedule; with a GPU, the tutorial's full one.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-data/sample}
shift || true
scripts/setup.sh
bin=${ACTS_BUILD_DIR:-build}/apps
out=runs/sample-$(date +%Y%m%d-%H%M%S)
gpu=$("$bin/train_gpu" --version | grep '^GPU: ' || true)  # "GPU: none (why)" without one
if [ -n "$gpu" ] && [[ "$gpu" != "GPU: none"* ]]; then
  schedule=()  # the tutorial's 30 x 100 steps
else
  # CPU: a few minutes, enough to see the loss move and to have a model to look into.
  schedule=(--epochs 3 --steps-per-epoch 8 --validation-steps 2)
fi
"$bin/train_gpu" --data "$data" --out "$out" "${schedule[@]}" "$@"
"$bin/dump_acts" --model "$out" --layer conv2d_1 conv2d_3 --channel 4 --out "$out/acts"
echo "Open $out/curves.png and $out/acts/index.html; in Keras: keras.models.load_model('$out/model.keras')"
