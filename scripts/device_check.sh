#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (made for the lent H200: CUDA toolkit, cuDNN
# perhaps only inside python3's nvidia-cudnn wheel, no OpenCV, perhaps no GoogleTest package).
# Configures and builds the CUDA backend, its tests, the apps and any benchmark; prints the GPU
# and the cuDNN found; runs the CUDA test suites (a skip counts as a failure here: there IS a
# GPU); runs compute-sanitizer memcheck and racecheck over the CUDA test binaries; finally runs
# the benchmark binary if the build has one. Every step is time-bounded so the whole script
# stays well inside 10 minutes. Exit status: non-zero if anything failed.
#
# GoogleTest without a package: pass its source as ACTS_GTEST_SOURCE, or copy it beside the
# checkout first (on a machine that has it) and carry that folder, which git ignores:
#   mkdir -p build-deps && cp -r /usr/src/googletest build-deps/
# Logs are written to $OUT (when set, as on the device tool) or build-device/logs.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${ACTS_DEVICE_BUILD:-build-device}
LOGS=${OUT:-$BUILD/logs}
mkdir -p "$BUILD" "$LOGS"
JOBS=$(nproc)
FAILED=()
START=$(date +%s)

BUDGET=${ACTS_DEVICE_BUDGET_S:-540}  # the whole script, seconds
# Seconds a step may take: its own cap, or what is left of the budget (minus a reserve).
allow() { local left=$(( BUDGET - ($(date +%s) - START) - 15 )); (( left < $1 )) && echo $(( left > 1 ? left : 1 )) || echo "$1"; }
section() { printf '\n==== %s (t+%ss) ====\n' "$1" "$(( $(date +%s) - START ))"; }
fail() { FAILED+=("$1"); printf '!!!! FAILED: %s\n' "$1"; }

[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"  # nvcc, compute-sanitizer

section "GPU"
nvidia-smi || fail "nvidia-smi"
nvcc --version | tail -2

section "cuDNN"
WHEEL_LIB=$(python3 -c 'import nvidia.cudnn, os; print(os.path.join(list(nvidia.cudnn.__path__)[0], "lib"))' 2>/dev/null || true)
[ -n "$WHEEL_LIB" ] && [ -d "$WHEEL_LIB" ] && echo "python3's nvidia-cudnn wheel: $WHEEL_LIB"
ldconfig -p 2>/dev/null | grep -m3 libcudnn.so || echo "(no cuDNN in the loader cache)"

section "Configure"
GTEST_ARGS=()
for src in "${ACTS_GTEST_SOURCE:-}" build-deps/googletest /usr/src/googletest; do
  if [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ]; then GTEST_ARGS=(-DACTS_GTEST_SOURCE="$(cd "$src" && pwd)"); break; fi
done
if timeout "$(allow 120)" cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTS_WITH_CUDA=ON \
    -DACTS_WITH_OPENCV=OFF -DCMAKE_CUDA_ARCHITECTURES=90 "${GTEST_ARGS[@]}" > "$LOGS/configure.log" 2>&1; then
  grep -E "CUDNN|CUDAToolkit|acts:" "$LOGS/configure.log"
else
  tail -30 "$LOGS/configure.log"
  fail "configure"
fi
grep -E "^CUDNN_(LIBRARY|INCLUDE_DIR)" "$BUILD/CMakeCache.txt" || fail "cuDNN not found by CMake"
# The binaries carry a run path to the cuDNN CMake found; the loader path is set as well, for the
# sub-libraries cuDNN opens itself and for tools started around the binaries (the sanitizer).
CUDNN_DIR=$(sed -n 's/^CUDNN_LIBRARY:FILEPATH=//p' "$BUILD/CMakeCache.txt" | xargs -r dirname)
[ -n "$CUDNN_DIR" ] && export LD_LIBRARY_PATH="$CUDNN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

section "Build"
# The CUDA suites first (everything below needs them), then the apps and any benchmark; -k 0
# keeps one broken target from hiding the others.
CUDA_TESTS=(test_cuda_kernels test_cuda_layers test_cuda_backend test_cuda_layout)
timeout "$(allow 300)" cmake --build "$BUILD" -j"$JOBS" --target "${CUDA_TESTS[@]}" -- -k 0 > "$LOGS/build.log" 2>&1 \
  || { grep -E "error|FAILED" "$LOGS/build.log" | head -30; fail "build of the CUDA tests"; }
ALL_TARGETS=$(cmake --build "$BUILD" --target help 2>/dev/null | sed -n 's/^\([A-Za-z0-9_]*\): .*/\1/p')
EXTRA=()
for t in train_gpu dump_acts $(echo "$ALL_TARGETS" | grep -i bench); do
  echo "$ALL_TARGETS" | grep -qx "$t" && EXTRA+=("$t")
done
if [ ${#EXTRA[@]} -gt 0 ]; then
  echo "apps: ${EXTRA[*]}"
  timeout "$(allow 200)" cmake --build "$BUILD" -j"$JOBS" --target "${EXTRA[@]}" -- -k 0 >> "$LOGS/build.log" 2>&1 \
    || { grep -E "error|FAILED" "$LOGS/build.log" | head -30; fail "build of ${EXTRA[*]}"; }
fi
tail -2 "$LOGS/build.log"

section "CUDA tests (ctest)"
if timeout "$(allow 200)" ctest --test-dir "$BUILD" -R '^Cuda' --output-on-failure --timeout 240 -j4 > "$LOGS/ctest.log" 2>&1 \
    && grep -q "tests passed" "$LOGS/ctest.log"; then
  tail -4 "$LOGS/ctest.log"
else
  grep -E "Failed|Not Run|\*\*\*" "$LOGS/ctest.log" | head -40
  tail -60 "$LOGS/ctest.log"
  fail "ctest"
fi
if grep -q "Skipped" "$LOGS/ctest.log"; then  # a GPU is present: a skip means it was not usable
  grep -B2 -A3 "Skipped" "$LOGS/ctest.log" | head -20
  fail "CUDA tests skipped on a GPU machine"
fi

section "compute-sanitizer memcheck"
# The backend suite is sampled (one training step, graph replay) to bound the time.
declare -A FILTER=([test_cuda_kernels]='*' [test_cuda_layers]='-*Tf32*'
                   [test_cuda_backend]='*OneTraining*:*GraphReplay*:*ParametersCross*')
if command -v compute-sanitizer > /dev/null; then
  for t in test_cuda_kernels test_cuda_layers test_cuda_backend; do
    [ -x "$BUILD/tests/$t" ] || continue
    echo "-- $t (${FILTER[$t]})"
    timeout "$(allow 100)" compute-sanitizer --tool memcheck --error-exitcode 7 --print-limit 20 "$BUILD/tests/$t" \
      --gtest_filter="${FILTER[$t]}" --gtest_brief=1 > "$LOGS/memcheck_$t.log" 2>&1 \
      || { tail -30 "$LOGS/memcheck_$t.log"; fail "memcheck $t"; }
    grep -E "ERROR SUMMARY|PASSED|FAILED" "$LOGS/memcheck_$t.log" | tail -3
  done

  section "compute-sanitizer racecheck"
  # Shared-memory races can only be in our own kernels (cuDNN/cuBLAS are not ours to fix).
  echo "-- test_cuda_kernels"
  timeout "$(allow 60)" compute-sanitizer --tool racecheck --error-exitcode 7 --print-limit 20 "$BUILD/tests/test_cuda_kernels" \
    --gtest_brief=1 > "$LOGS/racecheck.log" 2>&1 || { tail -30 "$LOGS/racecheck.log"; fail "racecheck"; }
  grep -E "RACECHECK SUMMARY|ERROR SUMMARY|PASSED|FAILED" "$LOGS/racecheck.log" | tail -3
else
  fail "compute-sanitizer not on PATH"
fi

section "Benchmark: ours vs PyTorch on the same GPU"
# Eager and CUDA-graph PyTorch only: torch.compile can take minutes of device time to compile.
if [ -x "$BUILD/apps/bench" ]; then
  timeout "$(allow 180)" python3 scripts/bench_compare.py --bench "$BUILD/apps/bench" --device cuda --no-install \
      --variants eager,graphs --out "$LOGS/bench" 2>&1 | tee "$LOGS/bench.log" | tail -40 \
    || fail "benchmark (bench_compare.py)"
else
  fail "no bench binary in $BUILD/apps"
fi

section "Summary"
echo "logs: $LOGS"
if [ ${#FAILED[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
echo "all device checks passed"
