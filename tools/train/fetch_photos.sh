#!/bin/sh
# Larger, smoother photographs for training (never committed): the 18
# wallpapers that tools/train/photos.list names, from Debian main, at 960 px
# on the long side (tools/fetch_debian_images.sh). The training set is
# mostly small and busy; these add skies, water and out-of-focus
# backgrounds, where msic loses most to AVIF and JPEG 2000. Refuses to run
# if the list shares a file with bench/photos.list, the benchmark's second
# set. Prints the folder of PNGs, DIR/png (default DIR:
# $XDG_CACHE_HOME/msic-train/photos); tools/train/device-data.sh takes it.
#   tools/train/fetch_photos.sh [DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
train=$here/photos.list
bench=$here/../../bench/photos.list
for list in "$train" "$bench"; do
  [ -r "$list" ] || { echo "fetch_photos: cannot read $list" >&2; exit 1; }
done
# A picture is its package and its path, less the size folder of KDE's
# wallpapers (X/contents/images/2560x1600.jpg is X at any size).
pictures() { grep -v '^#' "$1" | awk 'NF { sub("/contents/images/.*", "", $3); print $2, $3 }' | sort -u; }
shared=$( { pictures "$train"; pictures "$bench"; } | sort | uniq -d)
if [ -n "$shared" ]; then
  echo "fetch_photos: tools/train/photos.list names benchmark images:" >&2
  echo "$shared" >&2
  exit 1
fi
# 960: twice it is at most the smallest source (1920 px).
exec "$here/../fetch_debian_images.sh" "$train" "${1:-${XDG_CACHE_HOME:-$HOME/.cache}/msic-train/photos}" 960
