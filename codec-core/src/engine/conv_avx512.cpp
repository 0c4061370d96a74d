// The convolutions for AVX-512 (see conv_kernel.inc and conv_int_kernel.inc;
// built with -mavx512f -mavx512bw, no contraction into FMA): 64 pixels (four vectors) by six output
// channels in registers, 24 accumulators of the 32 registers. On this
// project's Zen 5 machine, the couplings' convolutions of a 512-px tile
// took 8-10% less time than with four channels, in one process
// alternating the two; four were measured faster than 32 x 8 on Zen 4.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/kernels.h"
#include "parallel.h"

namespace msic::engine::avx512 {
typedef float Vec __attribute__((vector_size(64)));
constexpr int kVecs = 4, kOutBlock = 6;
#include "engine/conv_kernel.inc"
typedef int32_t IVec __attribute__((vector_size(64)));
inline IVec madd_pairs(IVec acc, IVec x, IVec w) { return acc + IVec(_mm512_madd_epi16(__m512i(x), __m512i(w))); }
#include "engine/conv_int_kernel.inc"
}  // namespace msic::engine::avx512
