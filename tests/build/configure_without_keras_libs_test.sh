#!/usr/bin/env bash
# Configuring where HDF5 or libzip is missing (pkg-config finds neither): the build goes on without
# Keras files, says so once naming the packages to install, and its stand-in (which refuses Keras
# files with that same advice) compiles.
#   tests/build/configure_without_keras_libs_test.sh CMAKE GENERATOR SOURCE_DIR WORK_DIR
set -uo pipefail
cmake=$1 generator=$2 src=$3 work=$4
rm -rf "${work:?}"
out=$(PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= CUDACXX=/nonexistent/nvcc \
      "$cmake" -S "$src" -B "$work" -G "$generator" -DACTS_BUILD_TESTS=OFF 2>&1)
rc=$?
failed=0
expect() {  # expect WHAT CONDITION
  if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1 (exit $rc)"; tail -n 20 <<<"$out"; failed=1; fi
}
expect "configures without HDF5 and libzip" '[ $rc -eq 0 ]'
expect "says once what is missing and how to get it" \
  '[ "$(grep -c "building WITHOUT Keras .h5/.keras files: libhdf5-dev libzip-dev not found" <<<"$out")" -eq 1 ]'
expect "does not claim Keras files" '! grep -q "acts: Keras .h5/.keras files with HDF5" <<<"$out"'
if [ $rc -eq 0 ]; then
  build=$("$cmake" --build "$work" --target runtime/keras/CMakeFiles/acts_keras.dir/no_keras_files.cpp.o \
          runtime/keras/CMakeFiles/acts_keras.dir/keras_sniff.cpp.o 2>&1)
  rc=$?
  out=$build
  expect "the stand-in compiles" '[ $rc -eq 0 ]'
fi
rm -rf "${work:?}"
exit $failed
