#!/usr/bin/env bash
# The README's main job: set up, build, train on a dataset (default: the small sample bundled in
# data/sample), then dump what conv2d_3 sees for the first test photo, and where the model looks
# (heatmaps) and what conv2d_1's filters respond to.
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
# Where the model looks (Grad-CAM, Score-CAM; both classes) in the first test photo of each class,
# and the patterns conv2d_1's filters respond to (docs/heatmaps.md). On the CPU here the filters'
# 40 steps took about 24 s, the heatmaps of two photos a few seconds.
photos=()
for class_dir in "$data"/test/*/; do
  [ -d "$class_dir" ] || continue
  first=$(find "$class_dir" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort | head -n 1)
  [ -n "$first" ] && photos+=("$first")
done
image_args=()
[ ${#photos[@]} -gt 0 ] && image_args=(--image "${photos[@]}")  # else dump_acts' default photo
"$bin/dump_acts" --model "$out" "${image_args[@]}" --cam gradcam,scorecam --filters conv2d_1 --out "$out/heatmaps"
echo "Open $out/curves.png, $out/acts/index.html and $out/heatmaps/index.html; in Keras: keras.models.load_model('$out/model.keras')"
