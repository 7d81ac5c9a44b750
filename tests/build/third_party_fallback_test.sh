#!/usr/bin/env bash
# cmake/ThirdParty.cmake in a tiny project that parses JSON with nlohmann-json and flags with CLI11
# through acts_third_party, as the project does: with -DACTS_PREFER_VENDORED=ON it takes the
# copies in third_party/, says so in one line each, builds and runs; by default it takes the system
# packages where they are installed (scripts/setup.sh installs them) and the copies where not, and
# the headers the compiler read are the ones the line named (ninja's dependency record).
#   tests/build/third_party_fallback_test.sh CMAKE GENERATOR MAKE_PROGRAM SOURCE_DIR WORK_DIR
set -uo pipefail
cmake=$1 generator=$2 make_program=$3 src=$4 work=$5
failed=0

rm -rf "${work:?}"
mkdir -p "$work/probe"
cat > "$work/probe/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.24)
project(third_party_probe LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
include("$src/cmake/ThirdParty.cmake")
add_executable(probe probe.cpp)
target_link_libraries(probe PRIVATE acts_third_party)
EOF
cat > "$work/probe/probe.cpp" <<'EOF'
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
int main(int argc, char** argv) {
  CLI::App app{"probe"};
  std::string text;
  app.add_option("--json", text)->required();
  CLI11_PARSE(app, argc, argv);
  std::cout << nlohmann::json::parse(text).at("units").get<int>() * 2 << "\n";
}
EOF

run() {  # run NAME [cmake args...]: configure, build, run; sets $out (the configure's output) and $rc
  out=$("$cmake" -S "$work/probe" -B "$work/$1" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" "${@:2}" 2>&1)
  rc=$?
  [ $rc -eq 0 ] || return
  build=$("$cmake" --build "$work/$1" 2>&1) || { rc=$?; out+=$'\n'"$build"; return; }
  result=$("$work/$1/probe" --json '{"units": 256}' 2>&1) || rc=$?
}
expect() {  # expect WHAT CONDITION
  if eval "$2"; then
    echo "ok: $1"
  else
    echo "FAILED: $1 (exit $rc); the configure and build said:"
    tail -n 20 <<<"$out"
    failed=1
  fi
}
lines() { grep -c -- "$1" <<<"$out"; }
# The headers the compile of probe.cpp read, one per line (Ninja keeps the record; other
# generators do not, and then the header checks pass by default). grep reads them all (no -q):
# with pipefail, a grep that stops early would fail the pipeline through ninja's SIGPIPE.
headers() { "$make_program" -C "$work/$1" -t deps | sed -n 's/^ *//p'; }
ninja_only() { [ "$generator" != Ninja ] || eval "$1"; }

run vendored -DACTS_PREFER_VENDORED=ON
expect "ACTS_PREFER_VENDORED=ON configures, builds and runs" '[ $rc -eq 0 ] && [ "$result" = 512 ]'
expect "it says nlohmann-json is the vendored copy, once" \
  '[ "$(lines "acts: nlohmann-json 3.11.2 from the vendored copy (third_party/nlohmann)")" -eq 1 ]'
expect "it says CLI11 is the vendored copy, once" \
  '[ "$(lines "acts: CLI11 2.1.2 from the vendored copy (third_party/CLI11)")" -eq 1 ]'
expect "the compiler read the vendored headers" \
  'ninja_only "headers vendored | grep -x \"$src/third_party/nlohmann/json.hpp\" >/dev/null &&
               headers vendored | grep -x \"$src/third_party/CLI11/CLI/CLI.hpp\" >/dev/null"'

run default
expect "the default configures, builds and runs" '[ $rc -eq 0 ] && [ "$result" = 512 ]'
for lib in nlohmann-json:nlohmann:nlohmann/json.hpp CLI11:CLI11:CLI11/CLI/CLI.hpp; do
  IFS=: read -r name folder header <<<"$lib"
  if [ "$(lines "acts: $name .* from the system package")" -eq 1 ]; then
    expect "$name: the system package, whose header the compiler read instead of the vendored one" \
      'ninja_only "! headers default | grep -x \"$src/third_party/$header\" >/dev/null &&
                   headers default | grep \"/${header#*/}\$\" >/dev/null"'
  else
    expect "$name: else the vendored copy, said once" \
      '[ "$(lines "acts: $name .* from the vendored copy (third_party/$folder)")" -eq 1 ]'
  fi
done

rm -rf "${work:?}"
exit $failed
