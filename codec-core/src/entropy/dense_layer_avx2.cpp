// The context nets' layers for AVX2 (built with -mavx2): see dense_layer_kernel.inc.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "entropy/dense_layer.h"

namespace msic::entropy::avx2 {
using V = __m256i;
constexpr int kLanes = 8, kMaxVectors = 3;
inline V load(const void *p) { return _mm256_loadu_si256(static_cast<const V *>(p)); }
inline void store(void *p, V v) { _mm256_storeu_si256(static_cast<V *>(p), v); }
inline V splat(int32_t v) { return _mm256_set1_epi32(v); }
inline V madd(V acc, V w, V x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
#include "entropy/dense_layer_kernel.inc"
}  // namespace msic::entropy::avx2
