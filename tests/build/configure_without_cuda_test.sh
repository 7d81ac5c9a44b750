#!/usr/bin/env bash
# Configuring where there is no CUDA compiler: the default (ACTS_WITH_CUDA=AUTO) configures the
# CPU-only product and says so in one line, OFF says nothing of a missing toolkit, ON fails naming
# what is missing, and a value that is none of these fails. CUDACXX naming a compiler that does not
# exist makes CMake find no CUDA compiler even on a machine with the toolkit; the proof on a machine
# with no toolkit at all (build and every test) is scripts/checks/check_no_cuda.sh.
#   tests/build/configure_without_cuda_test.sh CMAKE GENERATOR SOURCE_DIR WORK_DIR
set -uo pipefail
cmake=$1 generator=$2 src=$3 work=$4
failed=0

configure() {  # configure NAME [cmake args...]: sets $out (stdout + stderr) and $rc
  rm -rf "${work:?}/$1"
  out=$(CUDACXX=/nonexistent/nvcc "$cmake" -S "$src" -B "$work/$1" -G "$generator" -DACTS_BUILD_TESTS=OFF "${@:2}" 2>&1)
  rc=$?
}
expect() {  # expect WHAT CONDITION
  if eval "$2"; then
    echo "ok: $1"
  else
    echo "FAILED: $1 (exit $rc); the configure said:"
    tail -n 20 <<<"$out"
    failed=1
  fi
}
lines() { grep -c -- "$1" <<<"$out"; }

configure auto
expect "AUTO (the default) configures without a CUDA compiler" '[ $rc -eq 0 ]'
expect "AUTO says once that it builds the CPU-only product and why" \
  '[ "$(lines "acts: building the CPU-only product (CUDA backend and its tests left out): no CUDA compiler")" -eq 1 ]'
expect "AUTO builds no CUDA backend" '[ "$(lines "acts: CUDA backend OFF")" -eq 1 ]'

configure off -DACTS_WITH_CUDA=OFF
expect "OFF configures" '[ $rc -eq 0 ] && [ "$(lines "acts: building the CPU-only product (ACTS_WITH_CUDA=OFF)")" -eq 1 ]'
expect "OFF does not look for a CUDA compiler" '[ "$(lines "no CUDA compiler")" -eq 0 ]'

configure on -DACTS_WITH_CUDA=ON
expect "ON (required) fails without a CUDA compiler, naming it" \
  '[ $rc -ne 0 ] && [ "$(lines "error: -DACTS_WITH_CUDA=ON: no CUDA compiler")" -eq 1 ]'

configure bad -DACTS_WITH_CUDA=maybe
expect "a value other than AUTO, ON, OFF fails, naming it" \
  '[ $rc -ne 0 ] && [ "$(lines "error: -DACTS_WITH_CUDA=maybe: not one of AUTO, ON, OFF")" -eq 1 ]'

rm -rf "${work:?}"
exit $failed
