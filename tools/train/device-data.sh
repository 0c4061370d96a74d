#!/bin/bash
# What a GPU session trains on, within the device machine's 64 MiB
# working-tree limit, into train-data/ (git-ignored; name it in the device
# tool's `carry`). Run here, before a GPU session.
#   tools/train/device-data.sh [SOURCE_DIR] [MEGABYTES] [PHOTOS_DIR]
# PHOTOS_DIR (tools/train/fetch_photos.sh's output) comes whole, as lossless
# WebP; then a random subset (fixed seed) of SOURCE_DIR fills the rest of
# MEGABYTES (default 48).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-../shared/datasets/train}
budget=$(( ${2:-48} * 1000000 ))
photos=${3:-}
rm -rf train-data
mkdir train-data
total=0
count=0
if [ -n "$photos" ]; then
  for f in "$photos"/*.png; do
    [ -f "$f" ] || { echo "device-data: no PNGs in $photos" >&2; exit 1; }
    out=train-data/photo-$(basename "$f" .png).webp
    vips webpsave "$f" "$out" --lossless --strip
    total=$(( total + $(stat -c %s "$out") ))
    count=$(( count + 1 ))
  done
  (( total <= budget )) || { echo "device-data: the photos alone exceed ${2:-48} MB" >&2; exit 1; }
  echo "train-data/: $count photographs, $(( total / 1000000 )) MB from $photos"
fi
while read -r f; do
  size=$(stat -c %s "$f")
  if (( total + size <= budget )); then
    cp "$f" train-data/
    total=$(( total + size ))
    count=$(( count + 1 ))
  fi
done < <(find "$src" -maxdepth 1 -type f \( -name '*.webp' -o -name '*.png' -o -name '*.jpg' \) |
         sort | shuf --random-source=<(yes msic))
echo "train-data/: $count images, $(( total / 1000000 )) MB in all"
