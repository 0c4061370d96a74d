// The context nets' layers for AVX-512 (built with -mavx512f -mavx512bw): see dense_layer_kernel.inc.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "entropy/dense_layer.h"

namespace msic::entropy::avx512 {
using V = __m512i;
constexpr int kLanes = 16, kMaxVectors = 4;
inline V load(const void *p) { return _mm512_loadu_si512(p); }
inline void store(void *p, V v) { _mm512_storeu_si512(p, v); }
inline V splat(int32_t v) { return _mm512_set1_epi32(v); }
inline V madd(V acc, V w, V x) { return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x)); }
#include "entropy/dense_layer_kernel.inc"
}  // namespace msic::entropy::avx512
