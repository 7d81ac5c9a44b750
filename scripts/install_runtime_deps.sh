#!/usr/bin/env bash
# Installs the shared libraries the built apps need at run time (OpenCV's core, imgproc and
# imgcodecs, OpenBLAS, oneDNN, HDF5 and its high-level library, libzip, libwebpmux) without their -dev packages: the runtime package names are read from the
# -dev packages' dependencies, so the same script works across Debian/Ubuntu releases. Used by
# docker/Dockerfile's runtime stage.
set -euo pipefail
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
runtime=()
# DEV or DEV:BASE (the runtime package's name without its version, when it is not DEV's).
for entry in libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopenblas-dev libdnnl-dev \
             libhdf5-dev libhdf5-dev:libhdf5-hl libzip-dev libwebp-dev:libwebpmux; do
  dev=${entry%%:*}
  # e.g. libopencv-imgcodecs-dev -> libopencv-imgcodecs406t64, libhdf5-dev -> libhdf5-103-1t64
  base=${dev%-dev}
  [ "$entry" = "$dev" ] || base=${entry#*:}
  pkg=$( (apt-cache depends "$dev" 2>/dev/null || true) | sed -n "s/^ *Depends: \(${base}-\?[0-9][0-9a-z.-]*\)$/\1/p" | head -n 1)
  if [ -z "$pkg" ] && { [ "$dev" = libdnnl-dev ] || [ "$dev" = libwebp-dev ]; }; then  # optional: the build does without them too
    echo "install_runtime_deps: $dev not available here; skipped"
    continue
  fi
  [ -n "$pkg" ] || { echo "install_runtime_deps: no runtime package found for $dev" >&2; exit 1; }
  runtime+=("$pkg")
done
echo "install_runtime_deps: ${runtime[*]}"
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${runtime[@]}" >/dev/null
$sudo_cmd rm -rf /var/lib/apt/lists/*
