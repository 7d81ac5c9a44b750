#!/usr/bin/env bash
# Fuzzes the parsers of outside input with libFuzzer under AddressSanitizer and UBSan (clang 14).
# Usage: scripts/checks/fuzz.sh [PARSER|all] [SECONDS]   (defaults: all, 60 seconds each; 0: build only)
#   PARSER: model_json checkpoint npy image_header image_decode listing keras_file
# Builds the harnesses (tests/fuzz/<parser>_fuzz.cpp) and the runtime sources each needs into
# build-fuzz/ (ACTS_FUZZ_BUILD_DIR), runs each one at a time on tests/fuzz/corpus/<parser> plus
# tests/fuzz/regressions/<parser>, then merges the inputs that found new coverage into the
# committed corpus (-merge=1 keeps it minimal). Crashing inputs land in build-fuzz/crashes/<parser>/:
# copy each to tests/fuzz/regressions/<parser>/ so the replay test (ctest -R fuzz_replay) keeps it.
# Exits 1 when a run found something. Extra libFuzzer flags: ACTS_FUZZ_FLAGS="-jobs=2 ...".
set -euo pipefail
cd "$(dirname "$0")/../.."

all=(model_json checkpoint npy image_header image_decode listing keras_file)
which=${1:-all}
seconds=${2:-60}
if [ "$which" = all ]; then parsers=("${all[@]}"); else parsers=("$which"); fi
for p in "${parsers[@]}"; do
  [[ " ${all[*]} " == *" $p "* ]] || { echo "error: $p: not a fuzzed parser ; use one of: ${all[*]} or all" >&2; exit 2; }
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "error: $seconds: not a number of seconds ; give whole seconds" >&2; exit 2; }

# clang 14 with its sanitizer and libFuzzer runtimes (Debian: clang-14, libclang-rt-14-dev).
need=()
command -v clang++-14 >/dev/null 2>&1 || need+=(clang-14)
dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || need+=(libclang-rt-14-dev)
pkg-config --exists opencv4 || need+=(libopencv-dev)
pkg-config --exists hdf5 || need+=(libhdf5-dev)
pkg-config --exists libzip || need+=(libzip-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "fuzz: installing ${need[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

out=${ACTS_FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$out/obj"
cxx=clang++-14
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags=(-std=c++17 -g -O1 -fno-omit-frame-pointer $san -fsanitize=fuzzer-no-link
        -I. -Iruntime/data -Itests/fuzz -isystem third_party -isystem /usr/include/opencv4
        $(pkg-config --cflags hdf5 libzip 2>/dev/null))

# The runtime sources each harness needs (the same files the project's libraries build). A model
# is its graph core plus every op (runtime/ops: each op's graph side and CPU code, the registry)
# and the CPU backend the registry links, with the fast path's no-BLAS variant.
graph_core="runtime/core/model_spec.cpp runtime/core/graph.cpp runtime/core/backend.cpp runtime/core/regular_file.cpp"
ops=$(ls runtime/ops/*.cpp runtime/ops/*/*.cpp | grep -v '_cuda[^/]*\.cpp$' | tr '\n' ' ')
cpu="runtime/cpu/cpu_backend.cpp runtime/cpu/fast/conv2d.cpp runtime/cpu/fast/conv2d_onednn_missing.cpp
     runtime/cpu/fast/no_blas.cpp runtime/cpu/fast/maxpool_fast.cpp runtime/cpu/fast/thread_pool.cpp"
declare -A sources=(
  [model_json]="$graph_core $ops $cpu"
  [checkpoint]="runtime/core/checkpoint.cpp $graph_core $ops $cpu runtime/core/crc32.cpp runtime/core/atomic_file.cpp
                runtime/core/stop_request.cpp"
  [npy]="runtime/core/npy.cpp runtime/core/atomic_file.cpp runtime/core/regular_file.cpp runtime/core/stop_request.cpp"
  [image_header]="runtime/data/image_header.cpp"
  [image_decode]="runtime/data/image_decode.cpp runtime/data/image_header.cpp runtime/data/pil_resize.cpp"
  [listing]="runtime/data/listing.cpp"
  [keras_file]="runtime/keras/hdf5_file.cpp runtime/keras/keras_optimizer.cpp runtime/keras/keras_read.cpp
                runtime/keras/zip_archive.cpp runtime/core/checkpoint.cpp $graph_core $ops $cpu runtime/core/crc32.cpp
                runtime/core/atomic_file.cpp runtime/core/stop_request.cpp"
)
# HDF5 (Debian's serial build, its high-level library beside it) and libzip, as runtime/keras links them.
hdf5_hl=$(pkg-config --variable=libdir hdf5 2>/dev/null)/libhdf5_serial_hl.so
[ -f "$hdf5_hl" ] || hdf5_hl=-lhdf5_hl
declare -A libs=([image_decode]="-lopencv_imgcodecs -lopencv_imgproc -lopencv_core"
                 [keras_file]="$(pkg-config --libs hdf5 libzip 2>/dev/null) $hdf5_hl")
# Input size caps: room for the formats' small valid files, small enough that the committed
# corpus stays small (merged inputs are at most this long).
declare -A max_len=([image_decode]=8192 [image_header]=4096 [npy]=4096 [checkpoint]=4096 [model_json]=2048 [listing]=1024
                    [keras_file]=65536)

# Recompiles a source when it or any project header is newer than its object.
newest_header=$(ls -t runtime/*/*.h runtime/ops/*/*.h runtime/ops/ops.def kernels/cpu/*.h tests/fuzz/*.h | head -1)
compile() {
  local src=$1 obj="$out/obj/$(echo "$1" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
    echo "fuzz: compiling $src" >&2
    $cxx "${cflags[@]}" -c "$src" -o "$obj" || return 1
  fi
  echo "$obj"
}

found=0
for p in "${parsers[@]}"; do
  objs=()
  for s in ${sources[$p]} tests/fuzz/${p}_fuzz.cpp; do objs+=("$(compile "$s")"); done
  bin="$out/${p}_fuzz"
  # shellcheck disable=SC2086
  $cxx $san -fsanitize=fuzzer "${objs[@]}" -o "$bin" ${libs[$p]:-} -lpthread

  [ "$seconds" -gt 0 ] || { echo "fuzz: built $bin"; continue; }
  corpus=tests/fuzz/corpus/$p regressions=tests/fuzz/regressions/$p
  work="$out/corpus/$p" crashes="$out/crashes/$p"
  mkdir -p "$corpus" "$work" "$crashes"
  inputs=("$work" "$corpus")
  [ -d "$regressions" ] && inputs+=("$regressions")
  echo "fuzz: $p for ${seconds}s (log: $out/$p.log)"
  rc=0
  # The listing harness builds a folder tree per input: in memory (/dev/shm) when there is one.
  tmp=${TMPDIR:-/tmp}
  [ "$p" = listing ] && [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ] && tmp=/dev/shm
  # HDF5 (not instrumented) mallocs what a damaged header claims (a terabyte) and handles the
  # failure itself: keras_file lets malloc say no rather than ASan abort on the request.
  # HDF5's own leaks on error paths are suppressed (tests/fuzz/keras_file.lsan), not ours.
  asan=detect_leaks=1 lsan=
  if [ "$p" = keras_file ]; then
    asan=detect_leaks=1:allocator_may_return_null=1 lsan=suppressions=$PWD/tests/fuzz/keras_file.lsan
  fi
  # shellcheck disable=SC2086
  TMPDIR=$tmp ASAN_OPTIONS=${ASAN_OPTIONS:-$asan} LSAN_OPTIONS=${LSAN_OPTIONS:-$lsan} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$bin" -max_total_time="$seconds" -max_len="${max_len[$p]:-4096}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" ${ACTS_FUZZ_FLAGS:-} "${inputs[@]}" >"$out/$p.log" 2>&1 || rc=$?
  grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)|^Done [0-9]+ runs|^stat::' "$out/$p.log" || true
  if [ $rc -ne 0 ]; then
    found=1
    echo "fuzz: $p FOUND A PROBLEM (exit $rc); inputs in $crashes/, report in $out/$p.log:"
    grep -E 'ERROR: |runtime error:|fuzz check failed|terminate called|==[0-9]+==' "$out/$p.log" | head -5 || true
    continue
  fi
  before=$(ls "$corpus" | wc -l)
  "$bin" -merge=1 -use_counters=0 -max_len="${max_len[$p]:-4096}" "$corpus" "$work" >"$out/$p.merge.log" 2>&1
  echo "fuzz: $p corpus $before -> $(ls "$corpus" | wc -l) files ($(cat "$corpus"/* | wc -c) bytes)"
done
exit $found
