#!/usr/bin/env bash
# The test suite under the sanitizers (issue #16), each in a build folder of
# its own, with gcc:
#   asan  build-asan/: ASan + UBSan (-fno-sanitize-recover: any undefined
#         behaviour fails) and LeakSanitizer, the whole suite but five tests
#         (below);
#   tsan  build-tsan/: TSan, the threaded tests.
#
#   tools/sanitize.sh [asan|tsan|all]      (default all; CI runs all)
#
# Only our code is instrumented: LibTorch and OpenBLAS (the tests that
# compare the engine with the trainer's network), libvips, GLib, GDAL,
# python and the vips/GDAL programs come from the distribution. Findings in
# them go into tests/sanitize/*.supp, never findings in our code.
#
# What the runs need, and why:
# - The vips and GDAL programs and python (the gdal.cli tests) are not
#   instrumented but load our instrumented plugins: the sanitizer runtime is
#   preloaded into them (LD_PRELOAD), with libstdc++ (python has none at
#   start, and ASan must see it to intercept C++ throws) and
#   tests/sanitize/swift_demangle_stub.c (without which a preloaded runtime
#   deadlocks vips at start-up; the file says how). Under ASan ctest runs
#   with the preload too; under TSan ctest must not (it then misses its
#   children's exit, and /bin/sh crashes), so a launcher puts the preload in
#   front of the vips suite only (CMake's CROSSCOMPILING_EMULATOR).
# - LeakSanitizer is on everywhere but in the gdal.cli tests, where it would
#   report python's own allocations at exit. intercept_tls_get_addr=0: with
#   it on, gcc 12's LeakSanitizer crashed at exit ("Tracer caught signal
#   11") on a dynamic-TLS block of LibTorch's threads in msic decode, when
#   libmsic still ran the network on LibTorch; kept for the tests that
#   still load LibTorch.
# - TSan cannot see GLib's GMutex and GCond (futexes): tests/sanitize/
#   tsan_glib.c, preloaded, annotates them, and TSan ignores the memory
#   accesses of uninstrumented libraries (ignore_noninstrumented_modules).
#
# Left out under ASan, because they measure what ASan changes on purpose:
#   vips.VipsModule.CropOfAHugeImageReadsOnlyItsTiles, gdal.cli.bounded_memory
#       peak RSS bounds (ASan's shadow memory, redzones and quarantine add
#       hundreds of MB, and the quarantine grows with every byte freed);
#   gdal.cli.plugin_links, core.runtime-dependencies  the plugin's and
#       libmsic's DT_NEEDED lists (ASan adds libasan and libubsan);
#   vips.installed, gdal.cli.installed  they test the installed packages,
#       which are the normal build, not this one.
#
# Environment: MSIC_SANITIZE_JOBS (default 2); MSIC_SANITIZE_LOCK (see phase).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
what=${1:-all}
case "$what" in asan | tsan | all) ;; *) echo "usage: $0 [asan|tsan|all]" >&2; exit 2 ;; esac
jobs=${MSIC_SANITIZE_JOBS:-2}
supp=$root/tests/sanitize
failed=()
busy=0
start_all=$SECONDS

runtime() { readlink -f "$(gcc -print-file-name="$1")"; }
libstdcxx=$(readlink -f "$(g++ -print-file-name=libstdc++.so.6)")

# configure DIR FLAGS [CMAKE-ARGS...]: RelWithDebInfo at -O1 -g1 (line
# tables: stacks with file:line at a fraction of the compile time of -g).
configure() {
  local dir=$1 flags=$2
  shift 2
  mkdir -p "$dir"
  cmake -S . -B "$dir" "$@" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
    -DCMAKE_MODULE_LINKER_FLAGS="$flags" >"$dir/sanitize-configure.log" ||
    { cat "$dir/sanitize-configure.log"; return 1; }
}

# The three test programs bring in everything the tests run (libraries,
# plugins, msic, msic-alt, msic-train, msic-model-init, msic-test-model);
# the benchmarks and packages are not built.
build() {
  cmake --build "$1" -j"$jobs" --target msic_core_tests msic_vips_tests msic_gdal_test
}

# phase NAME COMMAND...: runs and times COMMAND; a failure is recorded, the
# other phases still run, and the phase returns 1. With MSIC_SANITIZE_LOCK
# set, each phase holds that file's flock (a machine shared with other
# builds); the times exclude the wait for it.
phase() {
  local name=$1 status=0 t
  shift
  echo "=== $name"
  if [[ -n ${MSIC_SANITIZE_LOCK:-} ]]; then
    exec {lock_fd}>"$MSIC_SANITIZE_LOCK"
    flock "$lock_fd"
  fi
  t=$SECONDS
  "$@" || status=$?
  if [[ -n ${MSIC_SANITIZE_LOCK:-} ]]; then exec {lock_fd}>&-; fi
  busy=$((busy + SECONDS - t))
  if ((status == 0)); then
    echo "=== $name: passed ($((SECONDS - t)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - t)) s)"
    failed+=("$name")
    return 1
  fi
}

# ctest DIR PRELOAD ARGS...: ctest in DIR, as tools/test.sh runs it, with
# PRELOAD (if any) preloaded into every test process and program.
ctest_in() {
  local dir=$1 preload=$2
  shift 2
  (
    cd "$dir"
    if [[ -n $preload ]]; then export LD_PRELOAD=$preload; fi
    ctest --output-on-failure -j"$jobs" --timeout 900 "$@"
  )
}

asan() {
  local dir=build-asan
  phase "asan: configure" configure "$dir" \
    "-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" || return 0
  phase "asan: build" build "$dir" || return 0
  gcc -shared -fPIC -O2 "$supp/swift_demangle_stub.c" -o "$dir/swift_demangle_stub.so"

  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  local options="halt_on_error=1:detect_stack_use_after_return=1:intercept_tls_get_addr=0:suppressions=$supp/asan.supp"
  local preload="$(runtime libasan.so) $libstdcxx $root/$dir/swift_demangle_stub.so"
  local skip='^(vips\.VipsModule\.CropOfAHugeImageReadsOnlyItsTiles|gdal\.cli\.bounded_memory|gdal\.cli\.plugin_links|core\.runtime-dependencies|vips\.installed|gdal\.cli\.installed)$'

  # The core suite runs only instrumented programs.
  ASAN_OPTIONS="$options:detect_leaks=1" phase "asan: core tests" \
    ctest_in "$dir" "" -E "^(vips|gdal|archive)\.|$skip" || true
  # The vips suite (the vips programs load our module) and the GDAL C++ suite.
  ASAN_OPTIONS="$options:detect_leaks=1" phase "asan: vips and GDAL tests" \
    ctest_in "$dir" "$preload" -R '^(vips|gdal)\.' -E "^gdal\.cli\.|$skip" || true
  # The GDAL programs and python (GDAL bindings, rasterio, msic-archive's
  # Dask workers): python's own allocations at exit are not leaks of ours.
  ASAN_OPTIONS="$options:detect_leaks=0" phase "asan: GDAL program tests" \
    ctest_in "$dir" "$preload" -R '^(gdal\.cli|archive)\.' -E "$skip" || true
}

tsan() {
  local dir=build-tsan
  # Test programs run through a launcher (CMake's CROSSCOMPILING_EMULATOR,
  # which add_test and gtest_discover_tests put in front of a test
  # program): ctest itself must not run under TSan (it then misses its
  # children's exit). Every test program gets the GLib annotations; the
  # vips suite, which starts vips programs that load our module, also the
  # runtime and the stub (not the others: /bin/sh, which system() runs,
  # crashes with the TSan runtime preloaded).
  mkdir -p "$dir"
  gcc -shared -fPIC -O2 "$supp/swift_demangle_stub.c" -o "$dir/swift_demangle_stub.so"
  gcc -shared -fPIC -O2 "$supp/tsan_glib.c" -o "$dir/tsan_glib.so" -ldl
  {
    echo '#!/bin/sh'
    echo '# Written by tools/sanitize.sh: runs a TSan test program with the GLib'
    echo '# annotations preloaded, and the vips suite with the runtime and the stub.'
    echo 'case "$1" in'
    echo "  */msic_vips_tests) export LD_PRELOAD=\"$(runtime libtsan.so) $root/$dir/swift_demangle_stub.so $root/$dir/tsan_glib.so\" ;;"
    echo "  *) export LD_PRELOAD=\"$root/$dir/tsan_glib.so\" ;;"
    echo 'esac'
    echo 'exec "$@"'
  } >"$dir/tsan-launcher"
  chmod +x "$dir/tsan-launcher"
  phase "tsan: configure" configure "$dir" "-fsanitize=thread -fno-omit-frame-pointer" \
    -DCMAKE_CROSSCOMPILING_EMULATOR="$root/$dir/tsan-launcher" || return 0
  phase "tsan: build" build "$dir" || return 0

  # The tests that run threads: the worker pool, windows, batches and
  # thread counts through the C API, the concurrency tests of the three
  # interfaces, the whole GDAL C++ suite (parallel prefetch, encoding,
  # cancelling), and the vips module in this process and in the vips
  # program at concurrency 8.
  local threaded='^(Parallel\.|Concurrency\.|Determinism\.(ThreadCount|TilesInParts)|ContextModel\.ThreadsCode|Engine\.ThreadsGiveTheSameBits|Codec\.WindowDecode|Api\.TileBatch|gdal\.GdalMsicTest\.|vips\.VipsModule\.(ThreadsSharingALoadedImage|ProgramsDecodeTheSameAtConcurrency|BufferAndSourceInProcess))'
  TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$supp/tsan.supp" \
    phase "tsan: threaded tests" ctest_in "$dir" "" -R "$threaded" || true
}

if [[ $what == asan || $what == all ]]; then asan; fi
if [[ $what == tsan || $what == all ]]; then tsan; fi

echo "=== sanitizer runs: $busy s in the phases, $((SECONDS - start_all)) s in all"
if ((${#failed[@]})); then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all sanitizer runs passed"
