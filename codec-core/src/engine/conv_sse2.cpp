// The convolution for SSE2, the x86-64 baseline (see conv_kernel.inc):
// eight pixels (two vectors) by four output channels in registers.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/kernels.h"
#include "parallel.h"

namespace msic::engine::sse2 {
typedef float Vec __attribute__((vector_size(16)));
constexpr int kVecs = 2, kOutBlock = 4;
#include "engine/conv_kernel.inc"
typedef int32_t IVec __attribute__((vector_size(16)));
inline IVec madd_pairs(IVec acc, IVec x, IVec w) { return acc + IVec(_mm_madd_epi16(__m128i(x), __m128i(w))); }
#include "engine/conv_int_kernel.inc"
}  // namespace msic::engine::sse2
