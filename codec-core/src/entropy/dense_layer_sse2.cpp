// The context nets' layers for SSE2 (the x86-64 baseline): see dense_layer_kernel.inc.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "entropy/dense_layer.h"

namespace msic::entropy::sse2 {
using V = __m128i;
constexpr int kLanes = 4, kMaxVectors = 3;
inline V load(const void *p) { return _mm_loadu_si128(static_cast<const V *>(p)); }
inline void store(void *p, V v) { _mm_storeu_si128(static_cast<V *>(p), v); }
inline V splat(int32_t v) { return _mm_set1_epi32(v); }
inline V madd(V acc, V w, V x) { return _mm_add_epi32(acc, _mm_madd_epi16(w, x)); }
#include "entropy/dense_layer_kernel.inc"
}  // namespace msic::entropy::sse2
