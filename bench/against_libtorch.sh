#!/bin/sh
# In-process speed of this build against the LibTorch release, in one run:
# the last commit whose libmsic ran the network on LibTorch is built from
# git history (msic-bench-speed only, once, in a cache folder), then both
# benchmarks run in turn on the same images, so that issue #13's "4x
# today's" is a ratio measured on one machine at one time.
#
# Both code the same model's weights at the same quality: the release's
# quality 75 is model quality 75, which this build's quality scale reaches
# at Q 91.7683 (92.405 before the refits of 2026-12-05; `msic info` of a
# file prints the Q that writes its model quality), the release had effort
# 1 only, and this build runs msinn-small-v3-int (models/retired/; the
# default until 2026-12-04), the release's v3 with integer convolutions.
# The script checks that the bits per pixel agree within 0.2%: format 1.4's
# parts (their table and coder states, 12-17 bytes a part) add +0.03% on
# Kodak at this quality, the integer convolutions' rounding +0.03% (either
# sign on other images); a different quality moves it by several percent.
#   bench/against_libtorch.sh [--rounds N] [--threads "2 1"] IMAGE...
#   (default: 2 rounds, 2 threads then 1, ../shared/datasets/kodak/*.png)
# The cache folder is $MSIC_BENCH_CACHE (default ~/.cache/msic-bench);
# $MSIC_BENCH_CMAKE_ARGS goes to the old commit's cmake (Torch_DIR, or
# CMAKE_BUILD_TYPE when this build is not the default RelWithDebInfo).
# Rounds alternate which build runs first.
set -eu
release=8a77cd5  # parent of 7dfa309, "libmsic runs the network on its own engine"
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=2
threads="2 1"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- "$root"/../shared/datasets/kodak/*.png
for f in "$@"; do [ -f "$f" ] || { echo "no image $f"; exit 1; }; done
ours="$root/build/bench/msic-bench-speed"
[ -x "$ours" ] || { echo "no $ours: build the project first"; exit 1; }
v3int="$root/models/retired/msinn-small-v3-int.msicw"
[ -r "$v3int" ] || { echo "no $v3int"; exit 1; }

cache=${MSIC_BENCH_CACHE:-$HOME/.cache/msic-bench}/libtorch-release-$release
theirs="$cache/build/bench/msic-bench-speed"
if [ ! -x "$theirs" ]; then
  git -C "$root" cat-file -e "$release^{commit}" 2>/dev/null ||
    { echo "commit $release is not in this clone's history (a shallow clone?)"; exit 1; }
  echo "building the LibTorch release ($release) in $cache (a few minutes, once)"
  rm -rf "$cache" && mkdir -p "$cache"
  git -C "$root" archive -o "$cache.tar" "$release" && tar -xf "$cache.tar" -C "$cache" && rm -f "$cache.tar"
  # shellcheck disable=SC2086  # (words of its own)
  cmake -S "$cache" -B "$cache/build" -DMSIC_BUILD_TESTS=OFF -DMSIC_BUILD_GDAL=OFF -DMSIC_BUILD_VIPS=OFF \
    -DMSIC_BUILD_TOOLS=OFF ${MSIC_BENCH_CMAKE_ARGS:-} >"$cache/build.log" 2>&1 &&
    cmake --build "$cache/build" --target msic-bench-speed -j2 >>"$cache/build.log" 2>&1 ||
    { tail -20 "$cache/build.log"; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One line per run: bpp, encode and decode MP/s, peak MiB; stops the
# script if the benchmark fails or prints less.
run() {
  "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; echo "FAIL: $1" >&2; exit 1; }
  awk '/^bits per pixel/ {b=$4} /^encode:/ {e=$2} /^decode:/ {d=$2} /^peak memory/ {m=$3}
       END {if (b == "" || e == "" || d == "" || m == "") exit 1; printf "%s %s %s %s\n", b, e, d, m}' \
    "$tmp/out" || { cat "$tmp/out" >&2; echo "FAIL: $1 printed no result" >&2; exit 1; }
}
echo "| threads | round | build | bpp | encode MP/s | decode MP/s | peak MiB |"
echo "|---|---|---|---|---|---|---|"
for t in $threads; do
  r=1
  while [ "$r" -le "$rounds" ]; do
    if [ $((r % 2)) -eq 1 ]; then
      a=$(run "$theirs" --threads "$t" --quality 75 "$@")
      b=$(run "$ours" --threads "$t" --quality 91.7683 --effort 1 --model "$v3int" "$@")
    else
      b=$(run "$ours" --threads "$t" --quality 91.7683 --effort 1 --model "$v3int" "$@")
      a=$(run "$theirs" --threads "$t" --quality 75 "$@")
    fi
    echo "$a" | awk -v t="$t" -v r="$r" '{printf "| %s | %s | LibTorch release | %s | %s | %s | %s |\n", t, r, $1, $2, $3, $4}'
    echo "$b" | awk -v t="$t" -v r="$r" '{printf "| %s | %s | this build | %s | %s | %s | %s |\n", t, r, $1, $2, $3, $4}'
    echo "$t $a $b" >>"$tmp/runs"
    r=$((r + 1))
  done
done
echo
awk '$6 < $2 * 0.998 || $6 > $2 * 1.002 {bad = 1} END {exit bad}' "$tmp/runs" ||
  { echo "FAIL: the two builds coded at different qualities (bits per pixel differ by more than 0.2%)"; exit 1; }
for t in $threads; do
  awk -v t="$t" '$1 == t {enc = enc sprintf(" %.2fx", $7 / $3); dec = dec sprintf(" %.2fx", $8 / $4)}
       END {printf "this build / LibTorch release, %s thread(s): encode%s; decode%s\n", t, enc, dec}' "$tmp/runs"
done
