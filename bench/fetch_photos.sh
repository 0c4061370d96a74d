#!/bin/sh
# A second photo set for bench/rd.py (never committed): the 24 photographs
# of natural scenes with large smooth areas (sky, water, fog, out-of-focus
# backgrounds) that bench/photos.list names, from wallpaper packages in
# Debian main, at 1024 px on the long side (tools/fetch_debian_images.sh).
# Prints the folder of PNGs, DIR/png (default DIR:
# $XDG_CACHE_HOME/msic-bench/photos). bench/README.md has the licences.
#   bench/fetch_photos.sh [DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../tools/fetch_debian_images.sh" "$here/photos.list" \
  "${1:-${XDG_CACHE_HOME:-$HOME/.cache}/msic-bench/photos}" 1024
