#!/usr/bin/env bash
# Stand-ins for the base images of docker/Dockerfile and docker/Dockerfile.cpu on a machine that
# cannot pull them (no registry of container images is reachable here; Debian's package mirror
# is). Built from this machine's own parts and imported with `docker import`:
#   acts-standin/debian:bookworm-RECIPE       a Debian 12 root file system (debootstrap, minbase):
#                                             for debian:bookworm-slim
#   acts-standin/cuda:devel-RECIPE            that + /usr/local/cuda-13.0 (nvcc, cicc, headers,
#                                             cuDNN, cuBLAS): for nvidia/cuda:13.0.1-cudnn-devel-*
#   acts-standin/cuda:runtime-RECIPE          that + the toolkit's shared libraries only: for
#                                             nvidia/cuda:13.0.1-cudnn-runtime-*
# They are NOT NVIDIA's images (no NVIDIA container hooks, Debian instead of Ubuntu); they stand in
# for them so that CI builds and runs the project's own Dockerfiles. RECIPE is a hash of this file
# and the toolkit's version: an image that exists is reused, a changed recipe builds new ones.
# Prints the three image names, one per line: debian, devel, runtime.
# Needs a running Docker engine, debootstrap (installed if missing) and the CUDA toolkit at
# $ACTS_CUDA_DIR (default /usr/local/cuda-13.0).
set -euo pipefail
CUDA_DIR=${ACTS_CUDA_DIR:-/usr/local/cuda-13.0}
MIRROR=${ACTS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
DOCKER=${DOCKER:-docker}
log() { echo "standins: $*" >&2; }

[ -x "$CUDA_DIR/bin/nvcc" ] || { log "no CUDA toolkit at $CUDA_DIR (set ACTS_CUDA_DIR)"; exit 1; }
cuda_version=$(sed -n 's/.*release \([0-9.]*\),.*/\1/p' < <("$CUDA_DIR/bin/nvcc" --version))
recipe=$( { cat "$0"; echo "$cuda_version $SUITE $MIRROR"; } | sha256sum | cut -c1-12)
debian=acts-standin/debian:$SUITE-$recipe
devel=acts-standin/cuda:devel-$recipe
runtime=acts-standin/cuda:runtime-$recipe
have() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
if have "$debian" && have "$devel" && have "$runtime"; then
  log "cached: $debian, $devel, $runtime"
  printf '%s\n%s\n%s\n' "$debian" "$devel" "$runtime"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/acts-standins.XXXXXX")
trap 'rm -rf "$work"' EXIT
command -v debootstrap >/dev/null 2>&1 || {
  log "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
log "debootstrap $SUITE (minbase) from $MIRROR"
debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$MIRROR" > "$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
# As the registry's debian images: apt may run in a build (docker build has no init, no policy-rc.d).
printf '#!/bin/sh\nexit 101\n' > "$work/rootfs/usr/sbin/policy-rc.d"
chmod +x "$work/rootfs/usr/sbin/policy-rc.d"
env_path='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
log "importing $debian"
tar -C "$work/rootfs" -cf - . | "$DOCKER" import --change "ENV $env_path" --change 'CMD ["bash"]' - "$debian" >/dev/null

# The toolkit under /usr/local/cuda-13.0 with /usr/local/cuda pointing at it, as NVIDIA's images
# lay it out, and their PATH and LD_LIBRARY_PATH.
mkdir -p "$work/cuda/usr/local"
ln -s "$(basename "$CUDA_DIR")" "$work/cuda/usr/local/cuda"
cuda_env=(--change "ENV PATH=/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
          --change "ENV LD_LIBRARY_PATH=/usr/local/cuda/lib64" --change "ENV CUDA_VERSION=$cuda_version"
          --change 'CMD ["bash"]')
log "importing $devel (the whole toolkit: $(du -sh "$CUDA_DIR/" | cut -f1))"
tar -cf - -C "$work/rootfs" . -C "$work/cuda" usr/local/cuda -C / "${CUDA_DIR#/}" |
  "$DOCKER" import "${cuda_env[@]}" - "$devel" >/dev/null
log "importing $runtime (the toolkit's shared libraries)"
libs=$(cd / && find "${CUDA_DIR#/}/lib/" -maxdepth 1 \( -name '*.so' -o -name '*.so.*' \) | sort)
# shellcheck disable=SC2086  # the library paths contain no spaces
tar -cf - -C "$work/rootfs" . -C "$work/cuda" usr/local/cuda -C / "${CUDA_DIR#/}/lib64" $libs |
  "$DOCKER" import "${cuda_env[@]}" - "$runtime" >/dev/null
printf '%s\n%s\n%s\n' "$debian" "$devel" "$runtime"
