#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (made for the lent H200: CUDA toolkit, cuDNN
# perhaps only inside python3's nvidia-cudnn wheel, no OpenCV, perhaps no GoogleTest package).
# The project's ONE device script. A session's device time is short (15 min, machine starts
# included; a machine goes back 30 s after a call, and none starts with under 4 min left), so the
# first call must prove as much as it can on a bare machine and still leave room for one rerun,
# which lands on a bare machine again and so must build again. The whole script is bounded by
# ACTS_DEVICE_BUDGET_S (default 390 s), every stage is time-bounded, none stops the rest, and they
# run in order of value:
#   GPU + cuDNN found -> configure + build (sm_90, no OpenCV) -> CUDA tests (a skip counts as a
#   failure here: there IS a GPU) -> memcheck + racecheck of our own kernels -> the 30-epoch
#   tutorial + dump_acts GPU vs CPU (scripts/device/device_tutorial.sh, when device-data/ was carried)
#   -> benchmark vs PyTorch (strict fp32; then the heatmap/filter-pattern rows vs PyTorch autograd) -> benchmark with TF32, with the timed cuDNN
#   algorithm search, against batch and input size and in mixed bf16 -> per-op profiles -> PyTorch's torch.compile mode -> memcheck of the
#   cuDNN/cuBLAS layers and the backend (slow under the sanitizer: last).
# A sanitizer that cannot attach on this machine (reported for gVisor-based GPU machines) makes
# its stages "n/a", not failures: a short probe run decides before they start.
# The last lines printed are a summary of every stage and, for what failed or was cut, a rerun
# line sized for a FRESH machine: its budget is the build time this call measured (what a bare
# machine needs again) plus what each stage needs, and with ACTS_DEVICE_SESSION_LEFT_S (the
# device seconds `status` showed before this call) it keeps only the stages that fit what this
# session has left after this call, a 30 s idle wait and a new machine start (ACTS_DEVICE_START_S,
# default 120); the rest is named for the next session. Exit status: non-zero if anything failed
# or was cut.
#
# Device call (here first: mkdir -p build-deps device-data && cp -r /usr/src/googletest
# build-deps/ && cp -r ../shared/data/dogs-vs-cats device-data/):
#   run  command: ACTS_DEVICE_SESSION_LEFT_S=<status's budget_left_s> ACTS_COMMIT=<git rev-parse --short HEAD>
#                 scripts/device_check.sh
#        carry: ["build-deps", "device-data"]   timeout_s: 420
# 900 s of device time = start (~120) + this call (<= 420) + idle (30) + start (~120) + a rerun
# call of up to ~210 s, build included. Rerun with exactly the line the summary prints (it names
# its own ACTS_DEVICE_BUDGET_S and timeout_s), e.g.
#   run  command: ACTS_DEVICE_STAGES=tests ACTS_DEVICE_BUDGET_S=180 scripts/device_check.sh   timeout_s: 210
# On a bare machine (build ~90-120 s, tests ~60, kernel sanitizer ~40-60, tutorial ~60-120) the
# benchmark starts only when 90 s are left, and the rerun slot is too small for it: a session that
# wants the benchmark more than a rerun slot calls with ACTS_DEVICE_BUDGET_S=540, timeout_s 570
# (then under 4 minutes are left and no second machine starts).
# Stages: tests kernel-sanitizer tutorial bench bench-more profile bench-compile layer-sanitizer
# (default: all).
#
# GoogleTest without a package: pass its source as ACTS_GTEST_SOURCE, or copy it beside the
# checkout first (on a machine that has it) and carry that folder, which git ignores:
#   mkdir -p build-deps && cp -r /usr/src/googletest build-deps/
# Logs are written to build-device/logs. The device tool brings back at most 8 files from $OUT,
# so when OUT is set the script leaves three there, refreshed at every stage and at exit:
# logs.tgz (every log), ctest.log and summary.txt (the Summary block below).
# Dry run without a GPU (every GPU stage fails or is n/a, as it must; the summary and the rerun
# line are what to check): ACTS_DEVICE_BUILD=build-devsim OUT=/tmp/devout scripts/device_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${ACTS_DEVICE_BUILD:-build-device}
LOGS=$BUILD/logs
export LOGS  # scripts/device/device_tutorial.sh writes its logs beside ours
rm -rf "$LOGS"  # a rerun on a kept build folder: the last call's logs came back with that call
mkdir -p "$BUILD" "$LOGS"
# Copies the logs into $OUT (written to a temporary name first: a kill mid-copy leaves the last
# complete archive).
pack_logs() {
  [ -n "${OUT:-}" ] || return 0
  tar czf "$OUT/.logs.tgz" -C "$BUILD" logs 2>/dev/null && mv -f "$OUT/.logs.tgz" "$OUT/logs.tgz"
  for f in ctest.log summary.txt; do [ -f "$LOGS/$f" ] && cp -f "$LOGS/$f" "$OUT/"; done
  return 0
}
trap pack_logs EXIT
JOBS=$(nproc)
FAILED=()
SUMMARY=()
START=$(date +%s)

BUDGET=${ACTS_DEVICE_BUDGET_S:-390}  # the whole script, seconds (see the header: room for a rerun)
START_S=${ACTS_DEVICE_START_S:-120}   # a machine start, seconds of device time (for the rerun's plan)
SESSION_LEFT=${ACTS_DEVICE_SESSION_LEFT_S:-}
STAGES=${ACTS_DEVICE_STAGES:-all}
ALL_STAGES="tests kernel-sanitizer tutorial bench bench-more profile bench-compile layer-sanitizer"
# Per stage: the seconds it must have left to start, and what a rerun plans for it when it was cut
# (its caps; a stage that ran and failed plans for the time it took).
declare -A MIN_S=([tests]=60 [kernel-sanitizer]=40 [tutorial]=60 [bench]=90 [bench-more]=60 [profile]=40
                  [bench-compile]=100 [layer-sanitizer]=40)
declare -A PLAN_S=([tests]=90 [kernel-sanitizer]=60 [tutorial]=120 [bench]=210 [bench-more]=225 [profile]=100
                   [bench-compile]=150 [layer-sanitizer]=200)
declare -A USED_S=()
for st in ${STAGES//,/ }; do
  [ "$st" = all ] || [[ " $ALL_STAGES " == *" $st "* ]] \
    || { echo "ACTS_DEVICE_STAGES: unknown stage '$st' (stages: $ALL_STAGES)"; exit 2; }
done
want() { [ "$STAGES" = all ] || [[ ",$STAGES," == *",$1,"* ]]; }
# stage NAME TITLE: true when NAME was asked for and its MIN_S seconds are left for it after the
# reserve of allow(); a stage that could not finish in what is left is not started (it would only
# spend device time) but listed as cut, for the rerun.
stage() {
  want "$1" || return 1
  end_stage
  CUR=$1
  STAGE_T0=$(date +%s)
  section "$2"
  if (( BUDGET - ($(date +%s) - START) - 15 < ${MIN_S[$1]} )); then
    SUMMARY+=("CUT     $1: out of budget (needs ${MIN_S[$1]} s)"); RERUN+=("$1"); echo "cut: out of budget"
    CUR=""
    return 1
  fi
}
# Records how long the stage that ran last took (a rerun of it plans for that).
end_stage() {
  [ -n "$CUR" ] && USED_S[$CUR]=$(( $(date +%s) - STAGE_T0 ))
  CUR=""
}
# Seconds a step may take: its own cap, or what is left of the budget (minus a reserve).
allow() { local left=$(( BUDGET - ($(date +%s) - START) - 15 )); (( left < $1 )) && echo $(( left > 1 ? left : 1 )) || echo "$1"; }
section() { pack_logs; printf '\n==== %s (t+%ss) ====\n' "$1" "$(( $(date +%s) - START ))"; }
CUR=""        # the stage running now; a failure in it puts it on the rerun list
STAGE_T0=0
RERUN=()
fail() { FAILED+=("$1"); SUMMARY+=("FAILED  $1"); printf '!!!! FAILED: %s\n' "$1"
         [ -n "$CUR" ] && [[ " ${RERUN[*]} " != *" $CUR "* ]] && RERUN+=("$CUR"); }
ok() { SUMMARY+=("ok      $1"); }
na() { SUMMARY+=("n/a     $1"); printf 'n/a: %s\n' "$1"; }  # not possible on this machine: no failure, no rerun

[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"  # nvcc, compute-sanitizer

section "GPU"
echo "commit ${ACTS_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}, $(date -u +%Y-%m-%dT%H:%MZ)"
nvidia-smi || fail "nvidia-smi"
nvcc --version | tail -2
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' \
  2>/dev/null || echo "(no PyTorch in python3)"
# What a JPEG decoder on this machine could use (the issue's "<= 3 s including decoding"): no
# OpenCV C++ here, so look for nvJPEG and libjpeg(-turbo) for a later session.
echo "jpeg: $( (ls /usr/local/cuda*/lib*/libnvjpeg.so* /usr/local/cuda*/targets/*/lib/libnvjpeg.so* 2>/dev/null; \
  ldconfig -p 2>/dev/null | grep -oE 'lib(turbo)?jpeg\.so[.0-9]*' ) | sort -u | tr '\n' ' ')" \
  "$(python3 -c 'import nvidia.nvjpeg, os; print("wheel nvidia-nvjpeg:", list(nvidia.nvjpeg.__path__)[0])' 2>/dev/null)"

section "cuDNN"
WHEEL_LIB=$(python3 -c 'import nvidia.cudnn, os; print(os.path.join(list(nvidia.cudnn.__path__)[0], "lib"))' 2>/dev/null || true)
[ -n "$WHEEL_LIB" ] && [ -d "$WHEEL_LIB" ] && echo "python3's nvidia-cudnn wheel: $WHEEL_LIB"
ldconfig -p 2>/dev/null | grep -m3 libcudnn.so || echo "(no cuDNN in the loader cache)"

section "Configure"
# A bare machine has no build folder: then this call's configure + build time is what a rerun on
# a fresh machine needs again. On a kept folder the rerun plans for ACTS_DEVICE_FRESH_BUILD_S.
FRESH_BUILD=$([ -f "$BUILD/CMakeCache.txt" ] && echo no || echo yes)
declare -A BUILD_S=()  # seconds per build group (FIRST: the CUDA suites, EXTRA: apps and bench)
BUILD_DONE=yes
GTEST_ARGS=()
for src in "${ACTS_GTEST_SOURCE:-}" build-deps/googletest /usr/src/googletest; do
  if [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ]; then GTEST_ARGS=(-DACTS_GTEST_SOURCE="$(cd "$src" && pwd)"); break; fi
done
if timeout "$(allow 120)" cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTS_WITH_CUDA=ON \
    -DACTS_WITH_OPENCV=OFF -DCMAKE_CUDA_ARCHITECTURES=90 "${GTEST_ARGS[@]}" > "$LOGS/configure.log" 2>&1; then
  grep -E "CUDNN|CUDAToolkit|acts:" "$LOGS/configure.log"
  ok "configure"
else
  tail -30 "$LOGS/configure.log"
  fail "configure"
fi
grep -E "^CUDNN_(LIBRARY|INCLUDE_DIR)" "$BUILD/CMakeCache.txt" || fail "cuDNN not found by CMake"
# The binaries carry a run path to the cuDNN CMake found, and cuDNN finds its sub-libraries
# beside itself. The loader path is set only for our own test binaries (ctest, the sanitizer),
# never for the whole script: PyTorch in the benchmark stages must load its own cuDNN.
CUDNN_DIR=$(sed -n 's/^CUDNN_LIBRARY:FILEPATH=//p' "$BUILD/CMakeCache.txt" | xargs -r dirname)
OUR_LD_PATH="${CUDNN_DIR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "cuDNN for our binaries: ${CUDNN_DIR:-(not found)}"

section "Build"
# What the chosen stages need: the CUDA suites first (most stages need them), then the apps and
# the benchmark; -k 0 keeps one broken target from hiding the others.
CUDA_TESTS=(test_cuda_kernels test_cuda_layers test_cuda_backend test_cuda_layout test_cuda_op_contract)
ALL_TARGETS=$(cmake --build "$BUILD" --target help 2>/dev/null | sed -n 's/^\([A-Za-z0-9_]*\): .*/\1/p')
# Each layer's CUDA tests (tests/ops/*_cuda_test.cpp; their suites are named <Layer>Cuda).
echo "$ALL_TARGETS" | grep -qx test_ops_cuda && CUDA_TESTS+=(test_ops_cuda)
# Keras files on the GPU (KerasFilesCuda), where the machine has HDF5 and libzip to build them.
echo "$ALL_TARGETS" | grep -qx test_keras && CUDA_TESTS+=(test_keras)
# Gradients to any layer, heatmaps and filter patterns on the GPU (tests/explain/*_cuda_test.cpp).
echo "$ALL_TARGETS" | grep -qx test_explain_cuda && CUDA_TESTS+=(test_explain_cuda)
FIRST=() EXTRA=()
if want tests || want kernel-sanitizer || want layer-sanitizer; then FIRST=("${CUDA_TESTS[@]}"); fi
if want bench || want bench-more || want profile || want bench-compile; then EXTRA+=(bench); fi
if want tutorial; then EXTRA+=(train_gpu dump_acts); fi
for group in FIRST EXTRA; do
  declare -n targets=$group
  [ ${#targets[@]} -gt 0 ] || continue
  present=()
  for t in "${targets[@]}"; do echo "$ALL_TARGETS" | grep -qx "$t" && present+=("$t") || fail "no build target $t"; done
  [ ${#present[@]} -gt 0 ] || continue
  b0=$(date +%s)
  if timeout "$(allow 300)" cmake --build "$BUILD" -j"$JOBS" --target "${present[@]}" -- -k 0 >> "$LOGS/build.log" 2>&1; then
    ok "build of ${present[*]} ($(( $(date +%s) - b0 )) s)"
  else
    grep -E "error|FAILED" "$LOGS/build.log" | head -30
    fail "build of ${present[*]}"
    BUILD_DONE=no  # its time is then no measure of a whole build
  fi
  BUILD_S[$group]=$(( $(date +%s) - b0 ))
done
tail -2 "$LOGS/build.log"
# Everything before the first stage (GPU and cuDNN look-ups, configure, build) but the build
# groups themselves: a rerun pays it again.
SETUP_S=$(( $(date +%s) - START - ${BUILD_S[FIRST]:-0} - ${BUILD_S[EXTRA]:-0} ))
echo "setup ${SETUP_S} s, build: CUDA suites ${BUILD_S[FIRST]:-0} s, apps ${BUILD_S[EXTRA]:-0} s (fresh build folder: $FRESH_BUILD)"

if stage tests "CUDA tests (ctest)"; then
  if LD_LIBRARY_PATH="$OUR_LD_PATH" timeout "$(allow 200)" ctest --test-dir "$BUILD" -R '^Cuda|Cuda\.' --output-on-failure \
      --timeout 240 -j4 > "$LOGS/ctest.log" 2>&1 \
      && grep -q "tests passed" "$LOGS/ctest.log"; then
    tail -4 "$LOGS/ctest.log"
    ok "CUDA tests: $(grep -m1 'tests passed' "$LOGS/ctest.log")"
  else
    grep -E "Failed|Not Run|\*\*\*" "$LOGS/ctest.log" | head -40
    tail -60 "$LOGS/ctest.log"
    fail "CUDA tests: $(grep -m1 'tests passed' "$LOGS/ctest.log" || echo 'did not finish')"
    # The failed tests' names go into the Summary, which is always in the output's tail.
    while IFS= read -r line; do SUMMARY+=("          ${line#"${line%%[![:space:]]*}"}"); done \
      < <(sed -n '/The following tests FAILED/,$p' "$LOGS/ctest.log" | grep -E '^\s+[0-9]+ - ' | head -20)
  fi
  if grep -q "Skipped" "$LOGS/ctest.log"; then  # a GPU is present: a skip means it was not usable
    grep -B2 -A3 "Skipped" "$LOGS/ctest.log" | head -20
    fail "CUDA tests skipped on a GPU machine"
  fi
fi

# Whether compute-sanitizer can attach here, decided once by a probe: memcheck on one small kernel
# test. It cannot when it is missing, or when the probe fails although memcheck found no error and
# the test itself did not fail (the tool could not attach or instrument: reported on gVisor-based
# GPU machines). Then the sanitizer stages are n/a, with the tool's own words, not failures.
SANITIZER=""  # "" not probed yet, "yes", or why not
sanitizer_usable() {
  if [ -z "$SANITIZER" ]; then
    local log="$LOGS/sanitizer-probe.log" rc=0 why
    if ! command -v compute-sanitizer > /dev/null; then
      SANITIZER="compute-sanitizer is not installed (not on PATH)"
    elif [ ! -x "$BUILD/tests/test_cuda_kernels" ]; then
      SANITIZER="yes"  # no probe binary: the stage's own runs report that as a failure
    else
      CUDA_MODULE_LOADING=LAZY LD_LIBRARY_PATH="$OUR_LD_PATH" timeout "$(allow 60)" compute-sanitizer --tool memcheck \
        --error-exitcode 7 "$BUILD/tests/test_cuda_kernels" --gtest_filter='CudaKernels.RescaleMatchesCpu' \
        > "$log" 2>&1 || rc=$?
      if [ $rc -eq 0 ] || [ $rc -eq 124 ] || grep -qE "ERROR SUMMARY: [1-9]|\[  FAILED  \]" "$log"; then
        SANITIZER="yes"  # it ran (a timeout is slowness, not absence): the stages' own runs decide
      else
        why=$(grep -m1 -E '^=+ .*[Ee]rror' "$log" | sed 's/^=* *//')
        SANITIZER="compute-sanitizer cannot run here (probe exit $rc: ${why:-$(tail -1 "$log")})"
      fi
    fi
    echo "sanitizer: $SANITIZER"
  fi
  [ "$SANITIZER" = yes ]
}

# One compute-sanitizer run: $1 tool, $2 test binary, $3 gtest filter, $4 time cap.
sanitize() {
  local tool=$1 t=$2 filter=$3 cap=$4 log="$LOGS/$1_$2.log" rc=0
  [ -x "$BUILD/tests/$t" ] || { fail "$tool $t: not built"; return; }
  echo "-- $tool $t ($filter)"
  # Lazy module loading (the default since CUDA 12.2, made explicit): cuDNN's and cuBLAS' modules
  # load, to be instrumented, only when a test first uses them, not all at handle creation.
  CUDA_MODULE_LOADING=LAZY LD_LIBRARY_PATH="$OUR_LD_PATH" timeout "$(allow "$cap")" compute-sanitizer --tool "$tool" \
    --error-exitcode 7 --print-limit 20 "$BUILD/tests/$t" \
    --gtest_filter="$filter" --gtest_brief=1 > "$log" 2>&1 || rc=$?
  [ $rc -eq 0 ] && ok "$tool $t" || { tail -30 "$log"; fail "$tool $t (exit $rc; 124: out of time)"; }
  grep -E "RACECHECK SUMMARY|ERROR SUMMARY|PASSED|FAILED" "$log" | tail -3
}

if stage kernel-sanitizer "compute-sanitizer: our kernels (memcheck, racecheck)"; then
  # Our own kernels are small and quick under the sanitizer, and shared-memory races can only be
  # in them (cuDNN/cuBLAS are not ours to fix): checked early.
  if sanitizer_usable; then
    sanitize memcheck test_cuda_kernels '*' 60
    sanitize racecheck test_cuda_kernels '*' 60
  else
    na "kernel-sanitizer: $SANITIZER"
  fi
fi

if stage tutorial "The tutorial: 30 epochs on the GPU, dump_acts GPU vs CPU"; then
  # Before the benchmark: it is the project's point, and takes far less time than the benchmark.
  if [ -d device-data/dogs-vs-cats ] && [ -x "$BUILD/apps/train_gpu" ]; then
    timeout "$(allow 120)" scripts/device/device_tutorial.sh device-data/dogs-vs-cats \
      && ok "tutorial (wall time and dump_acts agreement above)" || fail "tutorial (scripts/device/device_tutorial.sh)"
  else
    echo "skipped: no device-data/dogs-vs-cats carried or no train_gpu built"
    fail "tutorial not run"
  fi
fi

BENCH="$BUILD/apps/bench"
need_bench() { [ -x "$BENCH" ] || { fail "no bench binary in $BUILD/apps"; return 1; }; }
# One bench_compare.py run: $1 label, $2 time cap, then its flags. On a GPU machine no row may
# be skipped (the plan scales nothing down there), so a skipped row fails the stage.
compare() {
  local label=$1 cap=$2 out="$LOGS/bench-$1"
  shift 2
  # bench_compare.py ends itself 5 s inside the cap, so a side that runs out of time still leaves
  # the other side's table; the outer timeout is only the backstop.
  local limit
  limit=$(allow "$cap")
  timeout "$limit" python3 scripts/bench/bench_compare.py --bench "$BENCH" --device cuda --no-install \
      --variants eager,graphs --out "$out" --deadline-s $(( limit > 10 ? limit - 5 : limit )) "$@" > "$out.log" 2> "$out.err"
  local rc=$?
  sed -n '/acts\/pt/,$p' "$out.log"
  grep -q "acts/pt" "$out.log" || grep "NOT FINISHED" "$out.log"
  if [ $rc -ne 0 ]; then tail -20 "$out.err"; fail "benchmark $label (exit $rc; 124: out of time)"
  elif grep -q "skipped" "$out.log"; then fail "benchmark $label: rows skipped"
  else ok "benchmark $label"; fi
}
# Eager and CUDA-graph PyTorch only: torch.compile can take minutes of device time to compile.
# PyTorch always runs with cudnn.benchmark; ours first with its defaults (cuDNN's heuristics,
# deterministic, strict fp32), then with the timed algorithm search, then both sides with TF32.
if stage bench "Benchmark: ours vs PyTorch on the same GPU, strict fp32" && need_bench; then
  "$BENCH" --version | head -8
  echo "-- strict fp32, our defaults (every row)"
  compare strict 150
  sed -n '1,/^$/p' "$LOGS/bench-strict.log"  # our own table: TFLOP/s and images/s
  # Issue 20's rows (docs/benchmarks.md "Heatmaps and filter patterns"): Grad-CAM 1 and 32 images,
  # Score-CAM of 128 channels, 128 filter patterns x 40 steps, ours against PyTorch autograd on the
  # same GPU, one round; whatever is left of the budget, at most 60 s (it ends itself 5 s inside).
  echo "-- heatmaps and filter patterns vs PyTorch autograd (bench --explain)"
  limit=$(allow 60)
  timeout "$limit" python3 scripts/bench/bench_explain.py --bench "$BENCH" --device cuda --peers pytorch --rounds 1 --no-install \
      --out "$LOGS/bench-explain" --deadline-s $(( limit > 10 ? limit - 5 : limit )) \
      > "$LOGS/bench-explain.log" 2> "$LOGS/bench-explain.err"
  rc=$?
  cat "$LOGS/bench-explain.log"
  if [ $rc -ne 0 ]; then tail -20 "$LOGS/bench-explain.err"; fail "benchmark explain (exit $rc; 124: out of time)"
  elif grep -q "skipped" "$LOGS/bench-explain.log"; then fail "benchmark explain: rows skipped"
  else ok "benchmark explain"; fi
fi

if stage bench-more "Benchmark: TF32, our timed algorithm search, batch and input size, mixed bf16" && need_bench; then
  echo "-- TF32 and non-deterministic algorithms on both sides, ours with --cudnn-benchmark (the step rows)"
  compare tf32 60 --rows train_b20,train_b256,eval_b20 --tf32 --nondeterministic --cudnn-benchmark
  echo "-- strict fp32, ours with --cudnn-benchmark (the step rows)"
  compare strict-search 60 --rows train_b20,train_b256,eval_b20 --cudnn-benchmark
  echo "-- a training step against batch (1-256 at 150 px) and input size (150-600 px at batch 8), vs PyTorch eager"
  compare scaling 60 --scaling --variants eager
  echo "-- mixed bf16: ours (Conv2D and Dense on cuDNN and cuBLAS bf16 tensor cores) vs PyTorch autocast bf16"
  compare bf16 45 --rows train_b20,train_b256 --precision bf16 --variants eager
fi

if stage profile "Per-op profile of one training step (device events, eager)" && need_bench; then
  for cfg in default tf32 search; do
    case $cfg in
      default) args=() ;;
      search) args=(--cudnn-benchmark) ;;
      tf32) args=(--tf32 --nondeterministic --cudnn-benchmark) ;;
    esac
    rc=0
    timeout "$(allow 40)" "$BENCH" --device cuda --profile "${args[@]}" > "$LOGS/profile-$cfg.log" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then ok "profile $cfg"; else tail -5 "$LOGS/profile-$cfg.log"; fail "profile $cfg (exit $rc)"; fi
    # The whole table for the defaults; for the others only the step totals (their tables: the logs).
    if [ $cfg = default ]; then cat "$LOGS/profile-$cfg.log"; else grep -E "^profile|sum \(|images/s" "$LOGS/profile-$cfg.log"; fi
  done
  # PyTorch's peer table (torch.profiler, eager): which of our ops is slower than its kernels.
  rc=0
  timeout "$(allow 40)" python3 scripts/bench/bench_pytorch.py --device cuda --profile --no-install \
    > "$LOGS/profile-pytorch.log" 2>&1 || rc=$?
  if [ $rc -eq 0 ]; then ok "profile pytorch"; else fail "profile pytorch (exit $rc)"; fi
  grep -m1 -A24 "^pytorch profile" "$LOGS/profile-pytorch.log"
fi

if stage bench-compile "Benchmark: PyTorch's torch.compile mode (the two target rows)" && need_bench; then
  # Late: compiling takes tens of seconds of device time, but "PyTorch's best mode" may be this one.
  # Only the rows the targets name (training at 20 and 256): each row is a cold Inductor compile.
  compare compile 150 --rows train_b20,train_b256 --variants compile
fi

if stage layer-sanitizer "compute-sanitizer memcheck: cuDNN/cuBLAS layers and the backend (sampled)"; then
  # Last, with what time is left: the sanitizer slows cuDNN's kernels by orders of magnitude. The
  # backend suite is sampled (one eager training step, graph capture and replay) to bound the time.
  if sanitizer_usable; then
    sanitize memcheck test_cuda_layers '-*Tf32*:*Searched*' 100
    sanitize memcheck test_cuda_backend '*OneTrainingStepMatchesCpu:*EvalGraphReplay*:*ParametersCross*:*CaptureToleratesAnotherThreads*' 100
  else
    na "layer-sanitizer: $SANITIZER"
  fi
fi
end_stage

section "Summary"
# The rerun of what failed or was cut, on a fresh machine: setup and the build groups it needs
# (as measured here on a bare machine, else ACTS_DEVICE_FRESH_BUILD_S), then each stage's plan,
# in order of value, as far as the session's device time allows (when it is known).
rerun_line() {
  [ ${#RERUN[@]} -gt 0 ] || return 0
  local setup=$SETUP_S first=${BUILD_S[FIRST]:-0} extra=${BUILD_S[EXTRA]:-0} fresh=${ACTS_DEVICE_FRESH_BUILD_S:-150}
  # A kept build folder, or a build that failed or ran out of time: the times measured say nothing
  # of a whole build on a bare machine.
  if [ "$FRESH_BUILD" != yes ] || [ "$BUILD_DONE" != yes ]; then
    (( first < fresh * 2 / 3 )) && first=$(( fresh * 2 / 3 ))
    (( extra < fresh / 3 )) && extra=$(( fresh / 3 ))
    (( setup < 30 )) && setup=30
  fi
  local left="" elapsed=$(( $(date +%s) - START ))
  # Device time after this call: this call's own start (when its machine was bare), the call,
  # the idle wait before the machine goes back, and the next start.
  if [ -n "$SESSION_LEFT" ]; then
    left=$(( SESSION_LEFT - elapsed - 30 - START_S ))
    [ "$FRESH_BUILD" = yes ] && left=$(( left - START_S ))
    (( left + START_S < 240 )) && left=0  # no machine starts with under 4 minutes left
  fi
  local st need=0 take=() later=() budget=0 needs_first=0 needs_extra=0 s_need b f e
  for st in $ALL_STAGES; do  # in order of value
    [[ " ${RERUN[*]} " == *" $st "* ]] || continue
    s_need=${USED_S[$st]:-0}
    (( s_need < ${MIN_S[$st]} )) && s_need=${PLAN_S[$st]}
    f=$needs_first e=$needs_extra
    case $st in tests|kernel-sanitizer|layer-sanitizer) f=1 ;; *) e=1 ;; esac
    b=$(( setup + f * first + e * extra + need + s_need + 15 ))
    if [ -n "$left" ] && (( b + 30 > left )); then later+=("$st"); continue; fi
    take+=("$st"); need=$(( need + s_need )); needs_first=$f; needs_extra=$e; budget=$b
  done
  if [ ${#take[@]} -gt 0 ]; then
    echo "rerun after fixing, on a fresh machine (build included; ~$(( budget + 30 + START_S )) s of device time with its start):"
    echo "  run  command: ACTS_DEVICE_STAGES=$(IFS=,; echo "${take[*]}") ACTS_DEVICE_BUDGET_S=$budget" \
      "scripts/device_check.sh   timeout_s: $(( budget + 30 ))"
  fi
  if [ ${#later[@]} -gt 0 ]; then
    echo "not in this session (about ${left} s left for a rerun call): next session:" \
      "ACTS_DEVICE_STAGES=$(IFS=,; echo "${later[*]}") scripts/device_check.sh"
  fi
  [ -n "$left" ] || echo "  (the session's device time was not given: check status's budget_left_s >= the figure above)"
  return 0
}
summary() {
  echo "logs: $LOGS${OUT:+ (packed into \$OUT/logs.tgz)}"
  for b in strict strict-search tf32 compile; do
    [ -f "$LOGS/bench-$b/compare.txt" ] && { echo "-- $b"; sed -n '/acts\/pt/,$p' "$LOGS/bench-$b/compare.txt" | tail -n +2; }
  done
  grep -h "sum (" "$LOGS"/profile-*.log 2>/dev/null
  cat "$LOGS/tutorial-summary.txt" 2>/dev/null
  printf '%s\n' "${SUMMARY[@]}"
  [ ${#FAILED[@]} -gt 0 ] && echo "${#FAILED[@]} check(s) failed"
  rerun_line
  local na_count
  na_count=$(printf '%s\n' "${SUMMARY[@]}" | grep -c '^n/a')
  if [ ${#FAILED[@]} -eq 0 ] && [ ${#RERUN[@]} -eq 0 ]; then
    if (( na_count > 0 )); then
      echo "all device checks that can run here passed, $na_count n/a ($(( $(date +%s) - START )) s)"
    else
      echo "all device checks passed ($(( $(date +%s) - START )) s)"
    fi
  fi
  return 0
}
summary | tee "$LOGS/summary.txt"
if [ ${#FAILED[@]} -gt 0 ] || [ ${#RERUN[@]} -gt 0 ]; then
  exit 1
fi
