#include "entropy/dense_layer.h"

#include "cpu_level.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace msic::entropy {
namespace {

#if defined(__x86_64__)
// One pair of inputs as the 32-bit lane that multiply-add pairs with the
// weights: x[2j] in the low half, x[2j + 1] in the high half.
inline int32_t input_pair(const int16_t *x, int j) {
  return int32_t(uint32_t(uint16_t(x[2 * j])) | uint32_t(uint16_t(x[2 * j + 1])) << 16);
}

// N vectors of outputs, accumulators in registers; w points at the block's
// first output in pair 0, rows `lanes` outputs apart.
template <int N>
void block_sse2(const int16_t *w, const int32_t *b, int pairs, int lanes, const int16_t *x, int32_t *y) {
  __m128i acc[N];
  for (int k = 0; k < N; ++k) acc[k] = _mm_loadu_si128(reinterpret_cast<const __m128i *>(b + 4 * k));
  for (int j = 0; j < pairs; ++j) {
    const __m128i v = _mm_set1_epi32(input_pair(x, j));
    const int16_t *wj = w + size_t(j) * lanes * 2;
    for (int k = 0; k < N; ++k)
      acc[k] = _mm_add_epi32(acc[k], _mm_madd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(wj + 8 * k)), v));
  }
  for (int k = 0; k < N; ++k) _mm_storeu_si128(reinterpret_cast<__m128i *>(y + 4 * k), acc[k]);
}

template <int N>
__attribute__((target("avx2"))) void block_avx2(const int16_t *w, const int32_t *b, int pairs, int lanes,
                                                const int16_t *x, int32_t *y) {
  __m256i acc[N];
  for (int k = 0; k < N; ++k) acc[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b + 8 * k));
  for (int j = 0; j < pairs; ++j) {
    const __m256i v = _mm256_set1_epi32(input_pair(x, j));
    const int16_t *wj = w + size_t(j) * lanes * 2;
    for (int k = 0; k < N; ++k)
      acc[k] = _mm256_add_epi32(
          acc[k], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(wj + 16 * k)), v));
  }
  for (int k = 0; k < N; ++k) _mm256_storeu_si256(reinterpret_cast<__m256i *>(y + 8 * k), acc[k]);
}

template <int N>
__attribute__((target("avx512f,avx512bw"))) void block_avx512(const int16_t *w, const int32_t *b, int pairs,
                                                              int lanes, const int16_t *x, int32_t *y) {
  __m512i acc[N];
  for (int k = 0; k < N; ++k) acc[k] = _mm512_loadu_si512(b + 16 * k);
  for (int j = 0; j < pairs; ++j) {
    const __m512i v = _mm512_set1_epi32(input_pair(x, j));
    const int16_t *wj = w + size_t(j) * lanes * 2;
    for (int k = 0; k < N; ++k) acc[k] = _mm512_add_epi32(acc[k], _mm512_madd_epi16(_mm512_loadu_si512(wj + 32 * k), v));
  }
  for (int k = 0; k < N; ++k) _mm512_storeu_si512(y + 16 * k, acc[k]);
}

// Runs Block<N> over outputs [o, lanes) while at least one vector of
// `width` outputs is left, up to four vectors at a time; returns where it
// stopped.
template <int Width, template <int> class Kernel>
int run(const DenseLayer &d, const int16_t *x, int32_t *y, int o) {
  while (d.lanes - o >= Width) {
    const int n = std::min(4, (d.lanes - o) / Width);
    const int16_t *w = d.w.data() + size_t(o) * 2;
    switch (n) {
      case 4: Kernel<4>::run(w, d.b.data() + o, d.pairs, d.lanes, x, y + o); break;
      case 3: Kernel<3>::run(w, d.b.data() + o, d.pairs, d.lanes, x, y + o); break;
      case 2: Kernel<2>::run(w, d.b.data() + o, d.pairs, d.lanes, x, y + o); break;
      default: Kernel<1>::run(w, d.b.data() + o, d.pairs, d.lanes, x, y + o); break;
    }
    o += n * Width;
  }
  return o;
}
template <int N>
struct Sse2 {
  static void run(const int16_t *w, const int32_t *b, int p, int l, const int16_t *x, int32_t *y) {
    block_sse2<N>(w, b, p, l, x, y);
  }
};
template <int N>
struct Avx2 {
  static void run(const int16_t *w, const int32_t *b, int p, int l, const int16_t *x, int32_t *y) {
    block_avx2<N>(w, b, p, l, x, y);
  }
};
template <int N>
struct Avx512 {
  static void run(const int16_t *w, const int32_t *b, int p, int l, const int16_t *x, int32_t *y) {
    block_avx512<N>(w, b, p, l, x, y);
  }
};
#endif
}  // namespace

void DenseLayer::apply(const int16_t *x, int32_t *y) const {
#if defined(__x86_64__)
  // The widest vectors first; what is left (lanes is a multiple of 4) goes
  // to the narrower ones.
  int o = 0;
  const CpuLevel level = cpu_level();
  if (level >= CpuLevel::kAvx512) o = run<16, Avx512>(*this, x, y, o);
  if (level >= CpuLevel::kAvx2) o = run<8, Avx2>(*this, x, y, o);
  run<4, Sse2>(*this, x, y, o);
#else
  for (int o = 0; o < lanes; ++o) {
    int32_t acc = b[o];
    for (int j = 0; j < pairs; ++j)
      acc += int32_t(w[(size_t(j) * lanes + o) * 2]) * x[2 * j] + int32_t(w[(size_t(j) * lanes + o) * 2 + 1]) * x[2 * j + 1];
    y[o] = acc;
  }
#endif
}

}  // namespace msic::entropy
