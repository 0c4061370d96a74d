#!/bin/bash
# Runs ON the GPU machine (the device tool), from the repository root, with
# train-data/ (tools/train/device-data.sh) and, to resume, train-ckpt/
# carried: converts the images to PPM (the GPU build has no libvips), builds
# msic-train against PyTorch's bundled libtorch and trains until MINUTES after
# the script started (build included), saving checkpoints straight into
# $OUT/ckpt so that they come back even if the call is killed. The build and
# the PPMs are reused while the machine stays warm.
#   tools/train/device-train.sh MINUTES [msic-train options]
# Without train-data/, pass --data-pack FILE (msic-train --pack) instead.
set -euo pipefail
minutes=$1
shift
out=${OUT:-/tmp/msic-train-out}
py=${PYTHON:-python3}
mkdir -p "$out/ckpt"
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; fi

data=()
if [ -d train-data ]; then
  ppm=/tmp/msic-train-ppm
  if [ ! -f $ppm/.done ]; then
    "$py" -c 'import PIL' || { echo "device-train.sh: $py has no PIL to read train-data/"; exit 1; }
    mkdir -p $ppm
    "$py" - train-data $ppm <<'PY'
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
  data=(--data $ppm)
fi

# Configure once per machine; always build, so that a changed source is
# never trained with a stale binary.
if [ ! -f build-gpu/CMakeCache.txt ]; then
  # PyTorch's bundled libtorch where there is one, else the system's.
  prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
  [ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}  # H100/H200; skips torch's GPU probe
  generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
  cmake -S . -B build-gpu "${generator[@]}" -DMSIC_TRAINER_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" > "$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
fi
cmake --build build-gpu --target msic-train -j "$(nproc)" > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }

# Resume from the carried checkpoint if there is one.
if [ -f train-ckpt/state.txt ]; then
  cp train-ckpt/model.msicw train-ckpt/optimizer.pt train-ckpt/state.txt "$out/ckpt/"
  [ -f train-ckpt/train.log ] && cp train-ckpt/train.log "$out/ckpt/"
  start=(--resume "$out/ckpt")
else
  start=(--init models/msic-default.msicw --out "$out/ckpt")
fi
left=$(awk -v m="$minutes" -v s="$SECONDS" 'BEGIN { printf "%.2f", m - s / 60 }')
if awk -v l="$left" 'BEGIN { exit !(l < 1) }'; then
  echo "device-train.sh: the build took ${SECONDS}s of the $minutes minutes; run again to train (the build is kept)"
  exit 3
fi
echo "building took ${SECONDS}s; training for $left minutes"
build-gpu/tools/train/msic-train "${data[@]}" --device cuda --threads 8 --minutes "$left" "${start[@]}" "$@" \
  2>&1 | tee -a "$out/ckpt/train.log"
exit "${PIPESTATUS[0]}"
