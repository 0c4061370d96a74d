#!/usr/bin/env bash
# From a fresh clone on Debian 12: install the dependencies, build, make the
# Debian packages, install them, and run the demo with the installed vips,
# gdal_translate and msic.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
tools/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DMSIC_BUILD_TESTS=OFF
cmake --build build-release -j2
(cd build-release && rm -f ./*.deb && cpack -G DEB)
$SUDO apt-get install -y -qq --reinstall ./build-release/*.deb
tools/demo.sh
