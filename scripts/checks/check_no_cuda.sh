#!/usr/bin/env bash
# Proves that the README's test command works on a machine with no CUDA toolkit at all: a
# Debian bookworm root file system made by debootstrap (no nvcc, no /usr/local/cuda, no NVIDIA
# package), a clean clone of the current commit copied into it, and scripts/test.sh run there
# through chroot, installing its own packages with apt. Hiding nvcc from PATH would prove nothing
# (setup.sh also looks in /usr/local/cuda). Exits with scripts/test.sh's status.
#   sudo scripts/checks/check_no_cuda.sh
# The pristine root file system is cached (ACTS_NOCUDA_ROOT, default /var/tmp/acts-nocuda-root)
# and made again when its recipe below changes; each run works on a fresh copy of it. The mirror
# is the host's own (its apt sources), so this runs wherever the host's apt works.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "error: check_no_cuda.sh: needs root (debootstrap, mount, chroot) ; run it with sudo" >&2; exit 2; }

cache=${ACTS_NOCUDA_ROOT:-/var/tmp/acts-nocuda-root}
suite=bookworm
commit=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || echo "check_no_cuda: uncommitted changes are not part of the check (it tests $commit)"

# The host's mirror: the first non-security URI of its apt sources (deb822 or one-line format).
mirror=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
            cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
              | sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p'; } \
          | grep -v -e security -e '^$' | head -n 1 || true)
[ -n "$mirror" ] || { echo "error: /etc/apt/sources.list: no Debian mirror found in the host's apt sources ; add one or run on a Debian host" >&2; exit 2; }
# Options the host's apt needs to use that mirror (a snapshot's expired Release files, a proxy).
apt_conf=$(apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' || true)

# The recipe of the cached root file system: change any part of it and the cache is made again.
recipe="debootstrap --variant=minbase $suite mirror=$mirror apt_conf=[$apt_conf] v1"
base=$cache/base
if [ ! -f "$cache/recipe" ] || [ "$(cat "$cache/recipe")" != "$recipe" ] || [ ! -x "$base/bin/bash" ]; then
  command -v debootstrap >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
  echo "check_no_cuda: making a Debian $suite root file system in $base (debootstrap, a few minutes)"
  rm -rf "$base" "$cache/recipe"
  mkdir -p "$cache"
  debootstrap --variant=minbase "$suite" "$base" "$mirror" > "$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log"; echo "error: debootstrap failed (log: $cache/debootstrap.log)" >&2; exit 1; }
  [ -z "$apt_conf" ] || printf '%s\n' "$apt_conf" > "$base/etc/apt/apt.conf.d/99host-mirror"
  echo "$recipe" > "$cache/recipe"
else
  echo "check_no_cuda: reusing the root file system in $base ($recipe)"
fi

# A fresh copy for this run, so packages installed by an earlier run prove nothing; downloaded
# .debs are kept between runs in $cache/apt-archives.
root=$cache/run
mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -R "${mounts[i]}" 2>/dev/null || umount -R -l "${mounts[i]}" || echo "check_no_cuda: could not unmount ${mounts[i]}" >&2
  done
}
trap cleanup EXIT
rm -rf "$root"
cp -a "$base" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No package's maintainer script may start or stop services (the host's) from inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$cache/apt-archives/partial"
for m in proc dev var/cache/apt/archives; do
  case $m in
    proc) mount -t proc proc "$root/proc" ;;
    # Recursive bind (/dev/pts, /dev/shm), made a slave so unmounting it never reaches the host's.
    dev) mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" ;;
    var/cache/apt/archives) mount --bind "$cache/apt-archives" "$root/$m" ;;
  esac
  mounts+=("$root/$m")
done
git clone -q --no-hardlinks "$PWD" "$root/src/acts"
git -C "$root/src/acts" checkout -q --detach "$commit"

echo "check_no_cuda: commit $commit in a debootstrap $suite root, no CUDA toolkit; running scripts/test.sh"
start=$(date +%s)
status=0
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c '
    set -u
    nvcc_anywhere() { find / -xdev -name nvcc -print 2>/dev/null; ls -d /usr/local/cuda* 2>/dev/null; }
    [ -z "$(nvcc_anywhere)" ] || { echo "check_no_cuda: nvcc found in the root file system:"; nvcc_anywhere; exit 3; }
    echo "check_no_cuda: no nvcc anywhere in the root file system (find / -name nvcc: nothing)"
    # The tests only: no Docker engine runs inside this chroot (the host CI runs the Docker check).
    cd /src/acts && ACTS_DOCKER_CHECK=0 scripts/test.sh
    rc=$?
    [ -z "$(nvcc_anywhere)" ] || { echo "check_no_cuda: nvcc appeared during the run:"; nvcc_anywhere; exit 3; }
    echo "check_no_cuda: still no nvcc anywhere after scripts/test.sh"
    exit $rc' || status=$?
echo "check_no_cuda: scripts/test.sh exited $status after $(( ($(date +%s) - start) / 60 )) min (commit $commit, no CUDA toolkit)"
exit "$status"
