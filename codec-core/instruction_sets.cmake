# The sources built once per instruction set (the engine's convolutions and
# element-wise passes, the context nets' layers): AVX2 and AVX-512 (F and
# BW: pmaddwd on 512 bits). No fused multiply-add, which would round
# differently from the SSE2 path: every target that builds them compiles
# with -ffp-contract=off, and AVX2 also without FMA instructions (for
# AVX-512, -mno-fma would make clang turn AVX-512 off too). Every build of
# these sources calls this with the folder holding src/: libmsic
# (codec-core/CMakeLists.txt), the test suite's -O0 build and the fuzzers'
# clang build.
function(msic_instruction_sets dir)
  set_source_files_properties(${dir}/src/engine/conv_avx2.cpp ${dir}/src/engine/elementwise_avx2.cpp
    ${dir}/src/entropy/dense_layer_avx2.cpp PROPERTIES COMPILE_OPTIONS "-mavx2;-mno-fma")
  set_source_files_properties(${dir}/src/engine/conv_avx512.cpp ${dir}/src/engine/elementwise_avx512.cpp
    ${dir}/src/entropy/dense_layer_avx512.cpp PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512bw")
endfunction()
