// The convolution for AVX2 (see conv_kernel.inc; built with -mavx2, no FMA):
// sixteen pixels (two vectors) by four output channels in registers.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/kernels.h"
#include "parallel.h"

namespace msic::engine::avx2 {
typedef float Vec __attribute__((vector_size(32)));
constexpr int kVecs = 2, kOutBlock = 4;
#include "engine/conv_kernel.inc"
typedef int32_t IVec __attribute__((vector_size(32)));
inline IVec madd_pairs(IVec acc, IVec x, IVec w) { return acc + IVec(_mm256_madd_epi16(__m256i(x), __m256i(w))); }
#include "engine/conv_int_kernel.inc"
}  // namespace msic::engine::avx2
