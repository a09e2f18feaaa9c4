#!/usr/bin/env bash
# tests/install/check_install.sh — checks that an installed libassay is usable:
# `cmake --install` of a build into a temporary prefix, then a small consumer
# program is built twice against that prefix — once with
# `pkg-config --cflags --libs assay`, once as a CMake project using
# `find_package(assay)` — and each is run; each must print assay_version().
# Usage: tests/install/check_install.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
[[ -f "$build/CMakeCache.txt" ]] || { echo "check_install: $build is not a configured build" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/assay-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
want="$(sed -n 's/^#define ASSAY_VERSION "\(.*\)"$/\1/p' "$root/core/include/assay/version.h")"

echo "check_install: cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }

mkdir -p "$tmp/consumer"
cat >"$tmp/consumer/main.c" <<'C'
/* A program that uses an installed libassay: prints its version. */
#include <assay.h>
#include <stdio.h>

int main(void) {
  if (assay_init() != ASSAY_OK) return 1;
  printf("%s\n", assay_version());
  assay_shutdown();
  return 0;
}
C
cat >"$tmp/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(assay_consumer LANGUAGES C)
find_package(assay REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE assay::assay)
CMAKE

libdirs=("$prefix"/lib*/ "$prefix"/lib/*-linux-gnu/)
ld_path=""
for d in "${libdirs[@]}"; do [[ -d "$d" ]] && ld_path="$d${ld_path:+:$ld_path}"; done
pc_path=""
for d in "${libdirs[@]}"; do [[ -d "$d/pkgconfig" ]] && pc_path="$d/pkgconfig${pc_path:+:$pc_path}"; done

status=0
check_output() {  # how binary
  local out
  if ! out="$(LD_LIBRARY_PATH="$ld_path" "$2")"; then
    echo "check_install: FAIL ($1): the consumer did not run"; status=1; return
  fi
  if [[ "$out" == "$want" ]]; then
    echo "check_install: ok ($1): prints $out"
  else
    echo "check_install: FAIL ($1): printed '$out', expected '$want'"; status=1
  fi
}

# 1. pkg-config
if flags="$(PKG_CONFIG_PATH="$pc_path" pkg-config --cflags --libs assay)"; then
  echo "check_install: pkg-config --cflags --libs assay: $flags"
  # shellcheck disable=SC2086
  if cc -std=c11 -Wall -Wextra -pedantic -Werror "$tmp/consumer/main.c" $flags \
        -o "$tmp/consumer_pc"; then
    check_output pkg-config "$tmp/consumer_pc"
  else
    echo "check_install: FAIL (pkg-config): the consumer did not compile/link"; status=1
  fi
else
  echo "check_install: FAIL (pkg-config): no usable assay.pc under $prefix"; status=1
fi

# 2. CMake find_package(assay)
if cmake -S "$tmp/consumer" -B "$tmp/consumer-build" -G Ninja \
      -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/consumer.log" 2>&1 &&
   cmake --build "$tmp/consumer-build" >>"$tmp/consumer.log" 2>&1; then
  check_output find_package "$tmp/consumer-build/consumer"
else
  cat "$tmp/consumer.log"
  echo "check_install: FAIL (find_package): the CMake consumer did not build"; status=1
fi
exit $status
