#!/usr/bin/env bash
# Renders a page of dump_acts (index.html) with headless Chromium into a PNG, to look at it on a
# machine without a display. Installs Debian's `chromium` package when no Chromium is found.
#   scripts/checks/screenshot_index.sh [PAGE] [OUT.png] [WIDTH] [HEIGHT]
# PAGE defaults to acts/index.html, OUT to index_screenshot.png in the current folder (not next
# to the page, which links only what dump_acts wrote), the window to 1400 x 3200 pixels (the page
# is cut at HEIGHT; pass a larger one for --all).
set -euo pipefail
page=${1:-acts/index.html}
out=${2:-index_screenshot.png}
width=${3:-1400}
height=${4:-3200}
[ -f "$page" ] || { echo "screenshot_index: $page: no such page; run dump_acts first" >&2; exit 1; }

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "screenshot_index: installing chromium (Debian package)" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium >/dev/null
  browser=chromium
fi

# A file:// URL with spaces, '#' etc. percent-encoded (per-image folders are named after photos).
url=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$page")
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
rm -f "$out_abs"
# --no-sandbox: Chromium refuses to run as root otherwise (containers, CI).
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files \
  --window-size="$width,$height" --screenshot="$out_abs" "$url" >/dev/null 2>&1 || true
[ -s "$out_abs" ] || { echo "screenshot_index: $browser wrote no screenshot of $url" >&2; exit 1; }
echo "$out_abs"
