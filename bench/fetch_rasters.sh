#!/bin/sh
# Real rasters that Debian packages ship, for the benchmarks (never
# committed): downloads the packages with apt-get download and unpacks them
# with dpkg -x into DIR (default: $XDG_CACHE_HOME/msic-bench/rasters), then
# prints DIR. Needs only apt's package lists, no root.
set -eu
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/msic-bench/rasters}
mkdir -p "$dir/debs" "$dir/root"
cd "$dir/debs"
for pkg in r-cran-stars r-cran-terra r-cran-spdata r-cran-rgdal r-cran-raster python3-mapscript; do
  ls ${pkg}_*.deb >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1 ||
    echo "fetch_rasters: cannot download $pkg (skipped)" >&2
done
for deb in *.deb; do
  [ -e "$deb" ] && dpkg -x "$deb" "$dir/root"
done
echo "$dir/root"
