#!/usr/bin/env bash
# The reliability proof of docs/reliability.md: the tests pass whatever the machine's load.
#   1. the README's test command (scripts/test.sh) with every core kept busy by stress-ng;
#   2. the tests labelled `signals` 20 times in a row (ctest --repeat until-fail:20), also under
#      full load.
# Run it on an idle machine (the idle pass is the README's test command itself). Installs
# stress-ng from Debian if missing; stops the stress it started, whatever happens.
#   scripts/checks/stress_check.sh [repeats]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
repeats=${1:-20}
if ! command -v stress-ng >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
fi
cores=$(nproc)
stress-ng --cpu "$cores" --cpu-method matrixprod --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null; wait "$stress" 2>/dev/null || true' EXIT
echo "stress_check: stress-ng keeps all $cores cores busy (pid $stress)"
start=$(date +%s)
ACTS_DOCKER_CHECK=0 scripts/test.sh  # the tests under load; the Docker images are not what this checks
echo "stress_check: the test command passed under full load in $(( $(date +%s) - start )) s"
start=$(date +%s)
(cd "${ACTS_BUILD_DIR:-build}" && ctest -L signals --repeat until-fail:"$repeats" -j"$cores" --output-on-failure)
echo "stress_check: the signal tests passed $repeats times in a row under full load in $(( $(date +%s) - start )) s"
