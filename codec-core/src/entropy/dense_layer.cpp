#include "entropy/dense_layer.h"

#include <algorithm>
#include <cstring>

#include "cpu_level.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace msic::entropy {
namespace {

// One pair of inputs as the 32-bit lane that multiply-add pairs with the
// weights: x[2j] in the low half, x[2j + 1] in the high half (one load on
// a little-endian machine).
inline int32_t input_pair(const int16_t *x, int j) {
#if defined(__x86_64__)
  int32_t pair;
  memcpy(&pair, x + 2 * j, sizeof pair);
  return pair;
#else
  return int32_t(uint32_t(uint16_t(x[2 * j])) | uint32_t(uint16_t(x[2 * j + 1])) << 16);
#endif
}

#if defined(__x86_64__)
namespace sse2 {
using V = __m128i;
constexpr int kLanes = 4, kMaxVectors = 3;
inline V load(const void *p) { return _mm_loadu_si128(static_cast<const V *>(p)); }
inline void store(void *p, V v) { _mm_storeu_si128(static_cast<V *>(p), v); }
inline V splat(int32_t v) { return _mm_set1_epi32(v); }
inline V madd(V acc, V w, V x) { return _mm_add_epi32(acc, _mm_madd_epi16(w, x)); }
#include "entropy/dense_layer_kernel.inc"
}  // namespace sse2

#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
using V = __m256i;
constexpr int kLanes = 8, kMaxVectors = 3;
inline V load(const void *p) { return _mm256_loadu_si256(static_cast<const V *>(p)); }
inline void store(void *p, V v) { _mm256_storeu_si256(static_cast<V *>(p), v); }
inline V splat(int32_t v) { return _mm256_set1_epi32(v); }
inline V madd(V acc, V w, V x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
#include "entropy/dense_layer_kernel.inc"
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw")
namespace avx512 {
using V = __m512i;
constexpr int kLanes = 16, kMaxVectors = 4;
inline V load(const void *p) { return _mm512_loadu_si512(p); }
inline void store(void *p, V v) { _mm512_storeu_si512(p, v); }
inline V splat(int32_t v) { return _mm512_set1_epi32(v); }
inline V madd(V acc, V w, V x) { return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x)); }
#include "entropy/dense_layer_kernel.inc"
}  // namespace avx512
#pragma GCC pop_options
#endif
}  // namespace

void DenseLayer::apply(const int16_t *x, size_t x_stride, int count, int32_t *y, size_t y_stride) const {
#if defined(__x86_64__)
  switch (cpu_level()) {
    case CpuLevel::kAvx512: return avx512::layer(*this, x, x_stride, count, y, y_stride);
    case CpuLevel::kAvx2: return avx2::layer(*this, x, x_stride, count, y, y_stride);
    default: return sse2::layer(*this, x, x_stride, count, y, y_stride);
  }
#else
  for (int k = 0; k < count; ++k)
    for (int o = 0; o < lanes; ++o) {
      int32_t acc = b[o];
      for (int j = 0; j < pairs; ++j) {
        const int32_t pair = input_pair(x + k * x_stride, j);
        acc += int32_t(w[(size_t(j) * lanes + o) * 2]) * int16_t(pair) + int32_t(w[(size_t(j) * lanes + o) * 2 + 1]) * int16_t(pair >> 16);
      }
      y[k * y_stride + o] = acc;
    }
#endif
}

}  // namespace msic::entropy
