# Decides whether this build has the CUDA backend, from the cache entry ACTS_WITH_CUDA:
#   AUTO (default)  the CUDA backend when a CUDA compiler (nvcc) and cuDNN are found, otherwise
#                   the CPU-only product, with one line saying so and why;
#   ON              required: configuring fails, naming what is missing;
#   OFF             the CPU-only product.
# Afterwards ACTS_WITH_CUDA is plain ON or OFF for the rest of the project (a normal variable over
# the cache entry); with ON the CUDA language is enabled and CUDA::cudart, CUDA::cublas and
# CUDNN::cudnn exist. The emulated CUDA suites (tests/cuda_emu) need neither and build either way.
string(TOUPPER "${ACTS_WITH_CUDA}" _acts_cuda_wanted)
if(_acts_cuda_wanted MATCHES "^(ON|YES|TRUE|Y|1)$")
  set(_acts_cuda_wanted ON)
elseif(_acts_cuda_wanted MATCHES "^(OFF|NO|FALSE|N|0)$")
  set(_acts_cuda_wanted OFF)
elseif(NOT _acts_cuda_wanted STREQUAL "AUTO")
  # The line as NOTICE, unwrapped; FATAL_ERROR then stops (CMake wraps and indents its own text).
  message(NOTICE "error: -DACTS_WITH_CUDA=${ACTS_WITH_CUDA}: not one of AUTO, ON, OFF ; "
                 "pass AUTO (CUDA when the toolkit is found), ON (CUDA required) or OFF")
  message(FATAL_ERROR "ACTS_WITH_CUDA: bad value (above)")
endif()

set(_acts_cuda_missing "")
if(NOT _acts_cuda_wanted STREQUAL "OFF")
  # A compiler looked for in vain by an earlier configure is looked for again (CUDA installed since).
  if(DEFINED CMAKE_CUDA_COMPILER AND NOT CMAKE_CUDA_COMPILER)
    unset(CMAKE_CUDA_COMPILER CACHE)
  endif()
  # CMake looks in $CUDACXX and on PATH; the toolkit's usual place is where scripts/setup.sh and
  # FindCUDAToolkit also look, so a toolkit installed there is found without editing PATH.
  find_program(_acts_nvcc_on_path nvcc NO_CACHE)
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND NOT _acts_nvcc_on_path
     AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    set(_acts_cuda_missing "no CUDA compiler (nvcc not on PATH, in \$CUDACXX or in /usr/local/cuda/bin)")
  else()
    enable_language(CUDA)
    # Not QUIET: the "Found ..." lines name what was found (scripts/device_check.sh shows them).
    find_package(CUDAToolkit)
    find_package(CUDNN)
    if(NOT CUDAToolkit_FOUND)
      set(_acts_cuda_missing "the CUDA toolkit's libraries (cudart, cuBLAS) not found beside ${CMAKE_CUDA_COMPILER}")
    elseif(NOT CUDNN_FOUND)
      set(_acts_cuda_missing "cuDNN 9 not found (install it, or point CUDNN_ROOT at it)")
    endif()
  endif()
endif()

if(_acts_cuda_wanted STREQUAL "OFF")
  message(STATUS "acts: building the CPU-only product (ACTS_WITH_CUDA=OFF)")
  set(ACTS_WITH_CUDA OFF)
elseif(_acts_cuda_missing)
  if(_acts_cuda_wanted STREQUAL "ON")
    message(NOTICE "error: -DACTS_WITH_CUDA=ON: ${_acts_cuda_missing} ; install the CUDA toolkit "
                   "with cuDNN 9, or pass -DACTS_WITH_CUDA=AUTO or OFF for the CPU-only product")
    message(FATAL_ERROR "ACTS_WITH_CUDA=ON: the CUDA backend is required and cannot be built (above)")
  endif()
  # NOTICE goes to stderr, so it shows through scripts that silence the configure's other output.
  message(NOTICE "acts: building the CPU-only product (CUDA backend and its tests left out): ${_acts_cuda_missing}")
  set(ACTS_WITH_CUDA OFF)
else()
  set(ACTS_WITH_CUDA ON)
endif()
