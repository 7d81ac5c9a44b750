#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (made for the lent H200: CUDA toolkit, cuDNN
# perhaps only inside python3's nvidia-cudnn wheel, no OpenCV, perhaps no GoogleTest package).
# The project's ONE device script. A session's device time is short (15 min, machine starts
# included; a machine goes back 30 s after a call, and none starts with under 4 min left), so
# the first call must leave room for one fixed rerun: the whole script is bounded by
# ACTS_DEVICE_BUDGET_S (default 420 s), every stage is time-bounded, none stops the rest, and
# they run in order of value:
#   GPU + cuDNN found -> configure + build (sm_90, no OpenCV) -> CUDA tests (a skip counts as a
#   failure here: there IS a GPU) -> memcheck + racecheck of our own kernels -> benchmark vs
#   PyTorch (strict fp32) -> the 30-epoch tutorial + dump_acts GPU vs CPU
#   (scripts/device_tutorial.sh, when device-data/ was carried) -> benchmark with TF32 and with
#   the timed cuDNN algorithm search -> per-op profiles -> PyTorch's torch.compile mode ->
#   memcheck of the cuDNN/cuBLAS layers and the backend (slow under the sanitizer: last).
# The last lines printed are a summary of every stage. Exit status: non-zero if anything failed.
#
# Device call (here first: mkdir -p build-deps device-data && cp -r /usr/src/googletest
# build-deps/ && cp -r ../shared/data/dogs-vs-cats device-data/):
#   run  command: ACTS_COMMIT=<git rev-parse --short HEAD> scripts/device_check.sh
#        carry: ["build-deps", "device-data"]   timeout_s: 450
# A rerun after a fix redoes only what failed or was cut, e.g. (configure and build always run):
#   run  command: ACTS_DEVICE_STAGES=tests,tutorial ACTS_DEVICE_BUDGET_S=200 scripts/device_check.sh
# Stages: tests kernel-sanitizer bench tutorial bench-more profile bench-compile layer-sanitizer
# (default: all).
#
# GoogleTest without a package: pass its source as ACTS_GTEST_SOURCE, or copy it beside the
# checkout first (on a machine that has it) and carry that folder, which git ignores:
#   mkdir -p build-deps && cp -r /usr/src/googletest build-deps/
# Logs are written to build-device/logs. The device tool brings back at most 8 files from $OUT,
# so when OUT is set the script leaves three there, refreshed at every stage and at exit:
# logs.tgz (every log), ctest.log and summary.txt (the Summary block below).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${ACTS_DEVICE_BUILD:-build-device}
LOGS=$BUILD/logs
export LOGS  # scripts/device_tutorial.sh writes its logs beside ours
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

BUDGET=${ACTS_DEVICE_BUDGET_S:-420}  # the whole script, seconds (see the header: room for a rerun)
STAGES=${ACTS_DEVICE_STAGES:-all}
ALL_STAGES="tests kernel-sanitizer bench tutorial bench-more profile bench-compile layer-sanitizer"
for st in ${STAGES//,/ }; do
  [ "$st" = all ] || [[ " $ALL_STAGES " == *" $st "* ]] \
    || { echo "ACTS_DEVICE_STAGES: unknown stage '$st' (stages: $ALL_STAGES)"; exit 2; }
done
want() { [ "$STAGES" = all ] || [[ ",$STAGES," == *",$1,"* ]]; }
# stage NAME TITLE [MIN]: true when NAME was asked for and MIN seconds (default 20) are left for
# it after the reserve of allow(); a stage that could not finish in what is left is not started
# (it would only spend device time) but listed as cut, for the rerun.
stage() {
  want "$1" || return 1
  CUR=$1
  section "$2"
  if (( BUDGET - ($(date +%s) - START) - 15 < ${3:-20} )); then
    SUMMARY+=("CUT     $1: out of budget (needs ${3:-20} s)"); RERUN+=("$1"); echo "cut: out of budget"; return 1
  fi
}
# Seconds a step may take: its own cap, or what is left of the budget (minus a reserve).
allow() { local left=$(( BUDGET - ($(date +%s) - START) - 15 )); (( left < $1 )) && echo $(( left > 1 ? left : 1 )) || echo "$1"; }
section() { pack_logs; printf '\n==== %s (t+%ss) ====\n' "$1" "$(( $(date +%s) - START ))"; }
CUR=""        # the stage running now; a failure in it puts it on the rerun list
RERUN=()
fail() { FAILED+=("$1"); SUMMARY+=("FAILED  $1"); printf '!!!! FAILED: %s\n' "$1"
         [ -n "$CUR" ] && [[ " ${RERUN[*]} " != *" $CUR "* ]] && RERUN+=("$CUR"); }
ok() { SUMMARY+=("ok      $1"); }

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
CUDA_TESTS=(test_cuda_kernels test_cuda_layers test_cuda_backend test_cuda_layout)
ALL_TARGETS=$(cmake --build "$BUILD" --target help 2>/dev/null | sed -n 's/^\([A-Za-z0-9_]*\): .*/\1/p')
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
  timeout "$(allow 300)" cmake --build "$BUILD" -j"$JOBS" --target "${present[@]}" -- -k 0 >> "$LOGS/build.log" 2>&1 \
    && ok "build of ${present[*]} ($(( $(date +%s) - b0 )) s)" \
    || { grep -E "error|FAILED" "$LOGS/build.log" | head -30; fail "build of ${present[*]}"; }
done
tail -2 "$LOGS/build.log"

if stage tests "CUDA tests (ctest)" 60; then
  if LD_LIBRARY_PATH="$OUR_LD_PATH" timeout "$(allow 200)" ctest --test-dir "$BUILD" -R '^Cuda' --output-on-failure \
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

# One compute-sanitizer run: $1 tool, $2 test binary, $3 gtest filter, $4 time cap.
sanitize() {
  local tool=$1 t=$2 filter=$3 cap=$4 log="$LOGS/$1_$2.log" rc=0
  if ! command -v compute-sanitizer > /dev/null; then fail "compute-sanitizer not on PATH"; return; fi
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

if stage kernel-sanitizer "compute-sanitizer: our kernels (memcheck, racecheck)" 40; then
  # Our own kernels are small and quick under the sanitizer, and shared-memory races can only be
  # in them (cuDNN/cuBLAS are not ours to fix): checked early.
  sanitize memcheck test_cuda_kernels '*' 60
  sanitize racecheck test_cuda_kernels '*' 60
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
  timeout "$limit" python3 scripts/bench_compare.py --bench "$BENCH" --device cuda --no-install \
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
if stage bench "Benchmark: ours vs PyTorch on the same GPU, strict fp32" 90 && need_bench; then
  "$BENCH" --version | head -8
  echo "-- strict fp32, our defaults (every row)"
  compare strict 150
  sed -n '1,/^$/p' "$LOGS/bench-strict.log"  # our own table: TFLOP/s and images/s
fi

if stage tutorial "The tutorial: 30 epochs on the GPU, dump_acts GPU vs CPU" 60; then
  if [ -d device-data/dogs-vs-cats ] && [ -x "$BUILD/apps/train_gpu" ]; then
    timeout "$(allow 120)" scripts/device_tutorial.sh device-data/dogs-vs-cats \
      && ok "tutorial (wall time and dump_acts agreement above)" || fail "tutorial (scripts/device_tutorial.sh)"
  else
    echo "skipped: no device-data/dogs-vs-cats carried or no train_gpu built"
    fail "tutorial not run"
  fi
fi

if stage bench-more "Benchmark: TF32, and our timed algorithm search" 60 && need_bench; then
  echo "-- TF32 and non-deterministic algorithms on both sides, ours with --cudnn-benchmark (the step rows)"
  compare tf32 60 --rows train_b20,train_b256,eval_b20 --tf32 --nondeterministic --cudnn-benchmark
  echo "-- strict fp32, ours with --cudnn-benchmark (the step rows)"
  compare strict-search 60 --rows train_b20,train_b256,eval_b20 --cudnn-benchmark
fi

if stage profile "Per-op profile of one training step (device events, eager)" 40 && need_bench; then
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
  timeout "$(allow 40)" python3 scripts/bench_pytorch.py --device cuda --profile --no-install \
    > "$LOGS/profile-pytorch.log" 2>&1 || rc=$?
  if [ $rc -eq 0 ]; then ok "profile pytorch"; else fail "profile pytorch (exit $rc)"; fi
  grep -m1 -A24 "^pytorch profile" "$LOGS/profile-pytorch.log"
fi

if stage bench-compile "Benchmark: PyTorch's torch.compile mode (the two target rows)" 100 && need_bench; then
  # Late: compiling takes tens of seconds of device time, but "PyTorch's best mode" may be this one.
  # Only the rows the targets name (training at 20 and 256): each row is a cold Inductor compile.
  compare compile 150 --rows train_b20,train_b256 --variants compile
fi

if stage layer-sanitizer "compute-sanitizer memcheck: cuDNN/cuBLAS layers and the backend (sampled)" 40; then
  # Last, with what time is left: the sanitizer slows cuDNN's kernels by orders of magnitude. The
  # backend suite is sampled (one eager training step, graph capture and replay) to bound the time.
  sanitize memcheck test_cuda_layers '-*Tf32*:*Searched*' 100
  sanitize memcheck test_cuda_backend '*OneTrainingStepMatchesCpu:*EvalGraphReplay*:*ParametersCross*:*CaptureToleratesAnotherThreads*' 100
fi

CUR=""
section "Summary"
summary() {
  echo "logs: $LOGS${OUT:+ (packed into \$OUT/logs.tgz)}"
  for b in strict strict-search tf32 compile; do
    [ -f "$LOGS/bench-$b/compare.txt" ] && { echo "-- $b"; sed -n '/acts\/pt/,$p' "$LOGS/bench-$b/compare.txt" | tail -n +2; }
  done
  grep -h "sum (" "$LOGS"/profile-*.log 2>/dev/null
  cat "$LOGS/tutorial-summary.txt" 2>/dev/null
  printf '%s\n' "${SUMMARY[@]}"
  [ ${#FAILED[@]} -gt 0 ] && echo "${#FAILED[@]} check(s) failed"
  [ ${#RERUN[@]} -gt 0 ] && echo "rerun after fixing: ACTS_DEVICE_STAGES=$(IFS=,; echo "${RERUN[*]}") scripts/device_check.sh"
  [ ${#FAILED[@]} -eq 0 ] && [ ${#RERUN[@]} -eq 0 ] && echo "all device checks passed ($(( $(date +%s) - START )) s)"
  return 0
}
summary | tee "$LOGS/summary.txt"
if [ ${#FAILED[@]} -gt 0 ] || [ ${#RERUN[@]} -gt 0 ]; then
  exit 1
fi
