#!/usr/bin/env bash
# The tutorial on the lent GPU machine (issue "Prove the whole project on a real GPU", parts 2-3),
# run after scripts/device_check.sh has built build-device/. The machine has no OpenCV C++
# library, so the photos travel as JPEGs and python3 (Pillow, numpy) turns them into NPY splits.
#
# Here, before the device call (the shared data does not travel; device-data/ is git-ignored):
#   mkdir -p device-data && cp -r ../shared/data/dogs-vs-cats device-data/
# Device call (carry build-deps for GoogleTest and device-data for the photos):
#   scripts/device_check.sh && scripts/device_tutorial.sh
# Prints: the 30-epoch run's history and wall time, and dump_acts on the GPU vs the CPU backend
# for one test photo, all 8 layers (max relative error; must be <= 1e-5 in strict fp32).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${ACTS_DEVICE_BUILD:-build-device}
LOGS=${OUT:-$BUILD/logs}
SRC=${1:-device-data/dogs-vs-cats}
NPY=$BUILD/dogs-vs-cats-npy
mkdir -p "$LOGS"
status=0

echo "==== NPY splits from $SRC ===="
python3 scripts/photos_to_npy.py "$SRC" "$NPY" || { echo "FAILED: photos_to_npy"; exit 1; }

echo "==== train_gpu: the tutorial, 30 epochs x 100 steps of 20, 50 validation steps ===="
rm -rf "$BUILD/tutorial-run"
start=$(date +%s.%N)
"$BUILD/apps/train_gpu" --device cuda --data "$NPY" --out "$BUILD/tutorial-run" 2>&1 | tee "$LOGS/tutorial.log" | tail -70
rc=${PIPESTATUS[0]}
end=$(date +%s.%N)
echo "train_gpu exit $rc, wall $(python3 -c "print(f'{$end - $start:.2f}')") s (start to exit, including loading)"
[ "$rc" -eq 0 ] || status=1
cp "$BUILD/tutorial-run/history.csv" "$LOGS/" 2>/dev/null && cat "$LOGS/history.csv"

echo "==== dump_acts: GPU vs CPU backend, first 8 layers of one test photo ===="
python3 - "$NPY/test/x.npy" "$BUILD/one.npy" <<'PY' || status=1
import sys, numpy as np
x = np.load(sys.argv[1])
np.save(sys.argv[2], x[:1])
PY
for dev in cuda cpu; do
  "$BUILD/apps/dump_acts" --device "$dev" --model "$BUILD/tutorial-run" --image "$BUILD/one.npy" \
      --out "$BUILD/acts-$dev" > "$LOGS/dump-$dev.log" 2>&1 || { tail -5 "$LOGS/dump-$dev.log"; status=1; }
done
python3 - "$BUILD/acts-cuda" "$BUILD/acts-cpu" <<'PY' || status=1
import glob, os, sys, numpy as np
gpu, cpu = sys.argv[1], sys.argv[2]
worst = 0.0
files = sorted(glob.glob(os.path.join(cpu, "*.npy")))
if len(files) < 8:
    sys.exit(f"expected 8 layers, found {len(files)}")
for f in files:
    a, b = np.load(os.path.join(gpu, os.path.basename(f))), np.load(f)
    rel = float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))
    worst = max(worst, rel)
    print(f"{os.path.basename(f):24s} {str(a.shape):22s} max |gpu - cpu| / max|cpu| = {rel:.2e}")
print(f"worst {worst:.2e}: {'ok' if worst <= 1e-5 else 'FAILED (> 1e-5)'}")
sys.exit(0 if worst <= 1e-5 else 1)
PY
exit $status
