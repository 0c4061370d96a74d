#!/usr/bin/env bash
# Installs what MSIC needs to build, test and run on Debian 12.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(
  build-essential cmake pkg-config ccache git
  libtorch-dev libopenblas0-serial            # the network (OpenBLAS: the reference BLAS is 5x slower)
  libvips-dev libvips-tools                   # images in and out, the libvips module
  libgdal-dev gdal-bin python3-gdal python3-rasterio python3-numpy  # the GDAL driver and its tests
  libgtest-dev file dpkg-dev                  # tests and packages
)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
