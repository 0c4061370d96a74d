#!/usr/bin/env bash
# Installs what MSIC needs to build, test and run on Debian 12.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(
  build-essential cmake pkg-config ccache git
  # The network. OpenBLAS is 2-5x faster than the reference BLAS; its pthread
  # build, because the serial one is not safe when tiles call it from
  # several threads at once (wrong pixels, seen in the GDAL threading test).
  libtorch-dev libopenblas0-pthread
  libvips-dev libvips-tools                   # images in and out, the libvips module
  libgdal-dev gdal-bin python3-gdal python3-rasterio python3-numpy  # the GDAL driver and its tests
  python3-distributed                         # msic-archive (tools/archive) and its tests
  libgtest-dev file dpkg-dev                  # tests and packages
  # The fuzzers (libFuzzer with ASan and UBSan; llvm-symbolizer for their
  # stacks); tools/sanitize.sh uses gcc's sanitizers.
  clang-14 libclang-rt-14-dev llvm-14
)
if [ "${1:-}" = "--bench" ]; then  # the classical codecs bench/rd.py compares against, butteraugli
  packages+=(libjpeg-turbo-progs webp libjxl-tools libavif-bin libheif-examples libopenjp2-tools
             butteraugli python3-matplotlib python3-scipy)
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
