#!/bin/bash
# Picks a random subset of the training images (fixed seed) that fits the
# GPU machine's 64 MiB working-tree limit, into train-data/ (git-ignored;
# name it in the device tool's `carry`). Run here, before a GPU session.
#   tools/train/device-data.sh [SOURCE_DIR] [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-../shared/datasets/train}
budget=$(( ${2:-48} * 1000000 ))
rm -rf train-data
mkdir train-data
total=0
count=0
while read -r f; do
  size=$(stat -c %s "$f")
  if (( total + size <= budget )); then
    cp "$f" train-data/
    total=$(( total + size ))
    count=$(( count + 1 ))
  fi
done < <(find "$src" -maxdepth 1 -type f \( -name '*.webp' -o -name '*.png' -o -name '*.jpg' \) |
         sort | shuf --random-source=<(yes msic))
echo "train-data/: $count images, $(( total / 1000000 )) MB from $src"
