#include "entropy/dense_layer.h"

#include "cpu_level.h"

namespace msic::entropy {
#if defined(__x86_64__)
// dense_layer_<set>.cpp, each built for its instruction set.
namespace sse2 {
void layer(const DenseLayer &d, const int16_t *x, size_t x_stride, int count, int32_t *y, size_t y_stride);
}
namespace avx2 {
void layer(const DenseLayer &d, const int16_t *x, size_t x_stride, int count, int32_t *y, size_t y_stride);
}
namespace avx512 {
void layer(const DenseLayer &d, const int16_t *x, size_t x_stride, int count, int32_t *y, size_t y_stride);
}
#endif

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
      for (int i = 0; i < 2 * pairs; ++i) acc += int32_t(w[(size_t(i / 2) * lanes + o) * 2 + i % 2]) * x[k * x_stride + i];
      y[k * y_stride + o] = acc;
    }
#endif
}

}  // namespace msic::entropy
