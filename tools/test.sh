#!/usr/bin/env bash
# Builds everything and runs the whole test suite (what CI runs).
#   tools/test.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
cmake --build "$build" -j2
cd "$build"
ctest --output-on-failure -j2 --timeout 900
