# The header-only libraries, nlohmann-json and CLI11: Debian's packages (nlohmann-json3-dev,
# libcli11-dev) when they are installed, otherwise the copies vendored in third_party/ for machines
# without a package registry (the lent GPU machine). Says in one line each which one it took, and
# defines acts_third_party, the one target the rest of the build links for them.
#   -DACTS_PREFER_VENDORED=ON  takes the vendored copies even where the packages are installed.
option(ACTS_PREFER_VENDORED "nlohmann-json and CLI11 from third_party/ even where their packages are installed" OFF)
set(_acts_vendored "${CMAKE_CURRENT_LIST_DIR}/../third_party")
cmake_path(NORMAL_PATH _acts_vendored)

# The version a vendored header states, from its #define NAME_{MAJOR,MINOR,PATCH} lines.
function(_acts_header_version out header prefix)
  file(STRINGS "${header}" _defines REGEX "^#define ${prefix}_(MAJOR|MINOR|PATCH) +[0-9]+")
  set(_version "")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "${prefix}_${_part} +([0-9]+)" _ignored "${_defines}")
    list(APPEND _version "${CMAKE_MATCH_1}")
  endforeach()
  list(JOIN _version "." _version)
  set(${out} "${_version}" PARENT_SCOPE)
endfunction()

add_library(acts_third_party INTERFACE)

# nlohmann-json: 3.11 or a newer 3.x (the package's version file accepts the same major only).
if(NOT ACTS_PREFER_VENDORED)
  find_package(nlohmann_json 3.11 CONFIG QUIET)
endif()
if(nlohmann_json_FOUND AND NOT ACTS_PREFER_VENDORED)
  target_link_libraries(acts_third_party INTERFACE nlohmann_json::nlohmann_json)
  message(STATUS "acts: nlohmann-json ${nlohmann_json_VERSION} from the system package (${nlohmann_json_DIR})")
else()
  # third_party/ holds nlohmann/ (for <nlohmann/json.hpp>); its CLI11/ folder is not <CLI/...>.
  target_include_directories(acts_third_party SYSTEM INTERFACE "${_acts_vendored}")
  _acts_header_version(_v "${_acts_vendored}/nlohmann/detail/abi_macros.hpp" NLOHMANN_JSON_VERSION)
  message(STATUS "acts: nlohmann-json ${_v} from the vendored copy (third_party/nlohmann)")
endif()

# CLI11: 2.1 or newer (its version file accepts any newer version).
if(NOT ACTS_PREFER_VENDORED)
  find_package(CLI11 2.1 CONFIG QUIET)
endif()
if(CLI11_FOUND AND NOT ACTS_PREFER_VENDORED)
  target_link_libraries(acts_third_party INTERFACE CLI11::CLI11)
  message(STATUS "acts: CLI11 ${CLI11_VERSION} from the system package (${CLI11_DIR})")
else()
  target_include_directories(acts_third_party SYSTEM INTERFACE "${_acts_vendored}/CLI11")
  _acts_header_version(_v "${_acts_vendored}/CLI11/CLI/Version.hpp" CLI11_VERSION)
  message(STATUS "acts: CLI11 ${_v} from the vendored copy (third_party/CLI11)")
endif()
