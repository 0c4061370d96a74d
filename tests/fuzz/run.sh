#!/usr/bin/env bash
# Builds the MSIC fuzzers with clang into their own folder, writes the seed
# corpus, replays every committed regression input, then runs each target
# for SECONDS. Fails (exit 1) on any crash, sanitizer report, leak, timeout
# or out-of-memory, naming the input libFuzzer saved.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
#   SECONDS     fuzzing time per target (default 60; 0 = replay only)
#   TARGET      container decode vips gdal (default: all)
#
# Environment: MSIC_FUZZ_BUILD (default <repo>/build-fuzz), MSIC_FUZZ_JOBS
# (build jobs, default 2), MSIC_FUZZ_TIMEOUT (seconds per input, default 30),
# MSIC_FUZZ_RSS_MB (default 3072), MSIC_FUZZ_MALLOC_MB (largest single
# allocation, default 1024), MSIC_FUZZ_LOCK (a lock file: each build and
# fuzz step then runs under flock on it), MSIC_FUZZ_CC / MSIC_FUZZ_CXX
# (default clang-14 / clang++-14), MSIC_FUZZ_EXTRA_FLAGS (compile flags,
# ;-separated, e.g. -fno-sanitize=nonnull-attribute to fuzz on past a known
# bug; use another MSIC_FUZZ_BUILD for it), MSIC_FUZZ_KEEP_GOING=1 (go on
# after a crash, timeout or OOM: libFuzzer's fork mode; the run still fails,
# listing every input it saved).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ $# -ge 1 ] && ! [[ $1 =~ ^[0-9]+$ ]]; then
  sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
seconds=${1:-60}
[ $# -eq 0 ] || shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(container decode vips gdal)
out=${MSIC_FUZZ_BUILD:-$root/build-fuzz}
jobs=${MSIC_FUZZ_JOBS:-2}
timeout=${MSIC_FUZZ_TIMEOUT:-30}
rss_mb=${MSIC_FUZZ_RSS_MB:-3072}
malloc_mb=${MSIC_FUZZ_MALLOC_MB:-1024}
cc=${MSIC_FUZZ_CC:-clang-14}
cxx=${MSIC_FUZZ_CXX:-clang++-14}

locked() {
  if [ -n "${MSIC_FUZZ_LOCK:-}" ]; then
    flock "$MSIC_FUZZ_LOCK" bash -c 'echo "(lock taken $(date +%T))" >&2; exec "$@"' locked "$@"
  else
    "$@"
  fi
}
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
start=$(date +%s)

for t in "${targets[@]}"; do
  case $t in container | decode | vips | gdal) ;; *) echo "unknown target '$t'"; exit 2 ;; esac
done
command -v "$cxx" >/dev/null || { echo "$cxx not found (apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }

step "build ($out)"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
mkdir -p "$out"
locked cmake -S "$here" -B "$out" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DMSIC_FUZZ_EXTRA_FLAGS="${MSIC_FUZZ_EXTRA_FLAGS:-}" "${launcher[@]}" \
  >"$out/configure.log" 2>&1 ||
  { cat "$out/configure.log"; exit 1; }
locked cmake --build "$out" -j"$jobs"

step "seed corpus"
rm -rf "$out/seeds"
"$out/bin/msic-fuzz-seeds" "$out/seeds"
largest=$(find "$out/seeds" -type f -printf '%s\n' | sort -n | tail -1)
max_len=$(( largest + largest / 4 > 16384 ? largest + largest / 4 : 16384 ))
echo "$(find "$out/seeds" -type f | wc -l) seeds, largest $largest bytes; -max_len=$max_len"

# Symbolized stacks; every UBSan report is fatal.
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A unit slower than libFuzzer's default report threshold (10 s) but within
# the timeout is not a failure: it wrote a slow-unit artifact, which failed
# the run (2026-12-03: 11 s once in the vips target, 0.2-0.35 s on every
# replay and no unit over 1 s in a second minute: the machine stalled).
flags=(-timeout="$timeout" -report_slow_units="$timeout" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb"
       -max_len="$max_len" -dict="$here/msic.dict" -print_final_stats=1)

failed=()
summary=()
for t in "${targets[@]}"; do
  bin=$out/bin/fuzz_$t
  mkdir -p "$out/logs" "$out/corpus/$t" "$out/artifacts/$t"
  regressions=()
  if [ -d "$here/regressions/$t" ]; then
    while IFS= read -r -d '' f; do regressions+=("$f"); done \
      < <(find "$here/regressions/$t" -type f ! -name '*.md' -print0 | sort -z)
  fi
  if [ ${#regressions[@]} -gt 0 ]; then
    step "$t: ${#regressions[@]} regression inputs"
    # One run each, so that every failing input is named (libFuzzer stops at
    # the first).
    : >"$out/logs/$t-regressions.log"
    for f in "${regressions[@]}"; do
      set +e
      locked "$bin" "${flags[@]}" -artifact_prefix="$out/artifacts/$t/regression-" "$f" >"$out/logs/$t-one.log" 2>&1
      status=$?
      set -e
      cat "$out/logs/$t-one.log" >>"$out/logs/$t-regressions.log"
      if [ $status -ne 0 ]; then
        { grep -E -A30 '==ERROR|runtime error|ALARM|out-of-memory|MSIC_ERR_INTERNAL|deadly signal' \
            "$out/logs/$t-one.log" | head -40; } || true
        echo "FAIL: $t: regression input ${f#"$root"/} (log: $out/logs/$t-regressions.log)"
        failed+=("${f#"$here"/}")
      else
        echo "ok: ${f#"$root"/}"
      fi
    done
    rm -f "$out/logs/$t-one.log"
  fi
  [ "$seconds" -gt 0 ] || continue

  step "$t: fuzzing for $seconds s"
  keep=()
  [ -z "${MSIC_FUZZ_KEEP_GOING:-}" ] || keep=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  touch "$out/logs/$t.start"
  set +e
  locked "$bin" "${flags[@]}" "${keep[@]}" -max_total_time="$seconds" -artifact_prefix="$out/artifacts/$t/" \
    "$out/corpus/$t" "$out/seeds" >"$out/logs/$t.log" 2>&1
  status=$?
  set -e
  # (-size +0: fork mode leaves an empty crash-da39a3... behind when its time is up)
  found=$(find "$out/artifacts/$t" -type f -size +0 -newer "$out/logs/$t.start" | wc -l)
  [ "$found" -eq 0 ] || status=1
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.log" | tail -1)
  # (fork mode: the parent's last "#RUNS: cov: ..." line)
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$out/logs/$t.log" | tail -1)
  field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) v = $(i + 1) } END { print v }' "$2"; }
  rate=$(field exec/s: "$out/logs/$t.log")
  cov=$(field cov: "$out/logs/$t.log")
  summary+=("$(printf '%-10s %10s runs %6s exec/s  cov %6s  %s' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" \
    "$([ $status -eq 0 ] && echo ok || echo FAILED)")")
  if [ $status -ne 0 ]; then
    { grep -E -A40 '==ERROR|runtime error|ALARM|out-of-memory|MSIC_ERR_INTERNAL|deadly signal' "$out/logs/$t.log" |
        head -70; } || true
    grep -E 'Test unit written to' "$out/logs/$t.log" || true
    find "$out/artifacts/$t" -type f -size +0 -newer "$out/logs/$t.start"
    echo "FAIL: $t (exit $status; log: $out/logs/$t.log). Reproduce with: $bin <input>;"
    echo "      commit the input under tests/fuzz/regressions/$t/"
    failed+=("$t")
  fi
done

step "summary ($(( $(date +%s) - start )) s in all)"
for s in "${summary[@]}"; do echo "$s"; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzzing passed"
