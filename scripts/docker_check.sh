#!/usr/bin/env bash
# Builds the project's Docker images and runs them as a user would (issue 23): docker/Dockerfile
# (the GPU image) and docker/Dockerfile.cpu (the CPU-only image), each then asked for
# `train_gpu --version`, a short training on the bundled sample photos (no GPU here: --device auto
# must fall back to the CPU, with its warning) and a dump_acts of that run, as a user that is
# neither root nor the image's own (uid 10001), into a mounted runs folder that this user owns:
# every file written there must be that user's. The image sizes are printed.
#
# NVIDIA's base images cannot be pulled here (no container registry is reachable; Debian's
# package mirror is), so the GPU image is built on stand-ins made from this machine's Debian and
# CUDA toolkit (scripts/docker/standins.sh, cached between runs) and the CPU image on the same
# Debian root file system. What only a GPU machine with NVIDIA's images can show (--gpus all, the
# CUDA backend inside the image) is not checked here.
#
# Docker gets no network of its own: dockerd runs with --bridge=none --iptables=false, builds use
# --network host (package mirrors), containers --network none. A dockerd this script started is
# stopped when it ends. Called by scripts/test.sh after the tests; under CI=true a check that
# cannot run fails, elsewhere it says why and skips (exit 0). ACTS_DOCKER_CHECK=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${ACTS_IN_DOCKER_BUILD:-}" = 1 ]; then
  echo "docker_check: inside docker build (the image being built): not run from here"
  exit 0
fi
if [ "${ACTS_DOCKER_CHECK:-1}" = 0 ]; then
  echo "docker_check: skipped (ACTS_DOCKER_CHECK=0)"
  exit 0
fi
t_start=$SECONDS
say() { echo "docker_check: $*"; }
cannot() {  # a check that could not run: fails under CI, skips elsewhere
  if [ "${CI:-}" = true ]; then say "FAILED: $*"; exit 1; fi
  say "skipped: $*"
  exit 0
}
fail() { say "FAILED: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || cannot "needs root to start dockerd and debootstrap (run as root, or ACTS_DOCKER_CHECK=0)"

# Disk: the stand-ins (~5.5 GB), two build stages with their packages and build trees, two images.
need_gb=20
avail_gb=$(( $(df --output=avail -k /var/lib 2>/dev/null | tail -1) / 1024 / 1024 ))
[ "$avail_gb" -ge "$need_gb" ] || cannot "needs about $need_gb GB free under /var/lib (docker's images), has $avail_gb GB"
say "$avail_gb GB free under /var/lib (about $need_gb GB needed)"

# The engine: Debian's docker.io when no dockerd is installed; started here when none runs.
export DOCKER_BUILDKIT=0  # the classic builder: no buildx plugin needed, the same on every client
started=""
stop_dockerd() {
  if [ -n "$started" ] && [ -f "$started" ]; then
    kill "$(cat "$started")" 2>/dev/null || true
    for _ in $(seq 1 60); do [ -f "$started" ] || break; sleep 0.5; done  # dockerd removes its pidfile
    say "stopped the dockerd it started"
  fi
}
trap stop_dockerd EXIT
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then
    say "installing Debian's docker.io (no dockerd here)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; } ||
      cannot "could not install docker.io"
  fi
  started=/tmp/acts-docker-check-dockerd.pid
  dockerd --bridge=none --iptables=false --pidfile "$started" > /tmp/acts-docker-check-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done  # the engine's start-up
  docker info >/dev/null 2>&1 || { tail -5 /tmp/acts-docker-check-dockerd.log; cannot "dockerd did not start"; }
  say "started dockerd (--bridge=none --iptables=false)"
fi

# The previous run's images and their dangling layers go (each run rebuilds from the source):
# the disk a repeated check takes stays bounded. The tagged stand-ins stay as the cache.
docker image rm -f acts:check-gpu acts:check-cpu >/dev/null 2>&1 || true
docker image prune -f >/dev/null 2>&1 || true
standins=$(scripts/docker/standins.sh) || cannot "could not build the stand-in base images (the messages above say why)"
mapfile -t bases <<< "$standins"
[ ${#bases[@]} -eq 3 ] || fail "scripts/docker/standins.sh printed ${#bases[@]} images, not 3"
say "stand-ins: ${bases[*]} ($(( SECONDS - t_start )) s so far)"

# One image: build (apps only: the test command ran on this machine just before), then run it.
user=4242  # neither root nor the image's acts (10001)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
check_image() {
  local label=$1 tag=$2
  shift 2
  local t0=$SECONDS
  say "building $tag ($label)"
  docker build --network host --build-arg ACTS_TESTS=0 --build-arg ACTS_COMMIT="$commit" "$@" -t "$tag" . > "/tmp/acts-docker-$label.log" 2>&1 ||
    { tail -30 "/tmp/acts-docker-$label.log"; fail "docker build of the $label image (log: /tmp/acts-docker-$label.log)"; }
  say "built $tag in $(( SECONDS - t0 )) s; size $(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.2f GB", $1 / 1e9}')"
  local runs
  runs=$(mktemp -d /tmp/acts-docker-runs.XXXXXX)
  chown "$user:$user" "$runs"
  local run=(docker run --rm --network none --user "$user:$user" -v "$PWD/data/sample:/data:ro" -v "$runs:/runs" "$tag")
  "${run[@]}" train_gpu --version > "$runs.version" 2>&1 || { cat "$runs.version"; fail "$label: train_gpu --version"; }
  head -1 "$runs.version"
  grep -q "commit $commit" "$runs.version" || fail "$label: --version does not name commit $commit"
  "${run[@]}" train_gpu --data /data --out /runs/sample --image-size 48 --epochs 1 --steps-per-epoch 2 \
      --validation-steps 1 --device auto > "$runs.train" 2>&1 || { tail -20 "$runs.train"; fail "$label: train_gpu"; }
  grep -q "no usable GPU" "$runs.train" || { tail -20 "$runs.train"; fail "$label: --device auto gave no CPU warning"; }
  "${run[@]}" dump_acts --model /runs/sample --layer conv2d_1,dense_2 --out /runs/sample/acts > "$runs.dump" 2>&1 ||
    { tail -20 "$runs.dump"; fail "$label: dump_acts"; }
  for f in sample/final.safetensors sample/history.csv sample/acts/conv2d_1.npy sample/acts/index.html; do
    [ -s "$runs/$f" ] || fail "$label: /runs/$f was not written"
  done
  local foreign
  foreign=$(find "$runs" ! -uid "$user" | head -3)
  [ -z "$foreign" ] || fail "$label: files in the runs folder not owned by uid $user: $foreign"
  say "$label: train_gpu --version, training on the CPU (with the warning) and dump_acts ran as uid $user;" \
      "$(find "$runs" -type f | wc -l) files in the runs folder, all its own ($(( SECONDS - t0 )) s)"
  rm -rf "$runs" "$runs".*
}
check_image gpu acts:check-gpu -f docker/Dockerfile --build-arg BUILD_IMAGE="${bases[1]}" \
  --build-arg RUNTIME_IMAGE="${bases[2]}"
check_image cpu acts:check-cpu -f docker/Dockerfile.cpu --build-arg DEBIAN_IMAGE="${bases[0]}"
say "ok: both images built and ran ($(( SECONDS - t_start )) s in all)"
