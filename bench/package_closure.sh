#!/bin/sh
# What installing the plugins pulls in, as on a machine with nothing
# installed: apt's resolver is run (simulated, no root needed) against an
# empty dpkg status, for libvips42 + libgdal32 alone, then with the .deb
# packages of a build, and the difference is listed. It also checks that
# no LibTorch, OpenCV, FFmpeg, OpenBLAS, LevelDB, ZeroMQ or protobuf package
# is among them (issue #13). The counts include the base system, which a
# real Debian 12 already has; the difference is what matters.
#   bench/package_closure.sh BUILD_DIR     (after `cpack -G DEB` there)
set -eu
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
debs="$build/libmsic1_*.deb $build/libvips-module-msic_*.deb $build/gdal-plugin-msic_*.deb"
for d in $debs; do [ -f "$d" ] || { echo "no $d: run cpack -G DEB in $build first"; exit 1; }; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/status"
sim() { apt-get -s -o Dir::State::status="$tmp/status" install "$@" 2>/dev/null | awk '/^Inst/ {print $2}' | sort; }
sim libvips42 libgdal32 >"$tmp/base"
# shellcheck disable=SC2086
sim $debs >"$tmp/with"
echo "libvips42 + libgdal32 from nothing: $(wc -l <"$tmp/base") packages"
echo "with libmsic1, libvips-module-msic, gdal-plugin-msic: $(wc -l <"$tmp/with") packages; added:"
comm -13 "$tmp/base" "$tmp/with" | sed 's/^/  /'
bad=$(grep -i -E 'torch|opencv|avcodec|avformat|ffmpeg|openblas|leveldb|zmq|protobuf' "$tmp/with" || true)
if [ -n "$bad" ]; then
  echo "FAIL: the plugins pull in:"; echo "$bad" | sed 's/^/  /'; exit 1
fi
echo "no LibTorch, OpenCV, FFmpeg, OpenBLAS, LevelDB, ZeroMQ or protobuf"
