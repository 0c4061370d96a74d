#!/bin/sh
# libmsic must need nothing but the C and C++ runtimes (issue #13: no
# LibTorch, OpenBLAS, OpenCV or FFmpeg for a vips or GDAL user). Lists the
# library's DT_NEEDED entries and fails on any other.
#   runtime_dependencies.sh LIBRARY
set -eu
needed=$(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "no NEEDED entries read from $1"; exit 1; }
status=0
for lib in $needed; do
  case $lib in
    libc.so.6 | libm.so.6 | libstdc++.so.6 | libgcc_s.so.1 | ld-linux-*.so.*) echo "ok: $lib" ;;
    *) echo "FAIL: $1 needs $lib"; status=1 ;;
  esac
done
exit $status
