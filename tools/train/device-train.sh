#!/bin/bash
# Runs ON the GPU machine (the device tool), from the repository root, with
# train-data/ (tools/train/device-data.sh) and, to resume, train-ckpt/
# carried: converts the images to PPM (the GPU build has no libvips), builds
# msic-train against PyTorch's bundled libtorch, trains for MINUTES and
# copies the checkpoint and log to $OUT. Build and PPMs are reused while the
# machine stays warm.
#   tools/train/device-train.sh MINUTES [msic-train options]
set -euo pipefail
minutes=$1
shift
out=${OUT:-/tmp/msic-train-out}
mkdir -p "$out"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

ppm=/tmp/msic-train-ppm
if [ ! -f $ppm/.done ]; then
  mkdir -p $ppm
  "${PYTHON:-python3}" - train-data $ppm <<'PY'
import os, sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(src) if not n.startswith("."))
for n in names:
    Image.open(os.path.join(src, n)).convert("RGB").save(os.path.join(dst, os.path.splitext(n)[0] + ".ppm"))
print("converted %d images to PPM" % len(names))
PY
  touch $ppm/.done
fi

if [ ! -x build-gpu/tools/train/msic-train ]; then
  # PyTorch's bundled libtorch where there is one, else the system's.
  prefix=$("${PYTHON:-python3}" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
  [ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S . -B build-gpu "${generator[@]}" -DMSIC_TRAINER_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" > "$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
  cmake --build build-gpu --target msic-train -j "$(nproc)" > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
fi

if [ -f train-ckpt/state.txt ]; then
  start=(--resume train-ckpt)
else
  start=(--init models/msic-default.msicw --out train-ckpt)
fi
mkdir -p train-ckpt
set +e
build-gpu/tools/train/msic-train --data $ppm --device cuda --threads 8 --minutes "$minutes" "${start[@]}" "$@" \
  2>&1 | tee -a train-ckpt/train.log
status=${PIPESTATUS[0]}
set -e
cp train-ckpt/model.msicw train-ckpt/optimizer.pt train-ckpt/state.txt train-ckpt/train.log "$out/" 2>/dev/null || true
exit $status
