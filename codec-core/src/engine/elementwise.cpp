#include "engine/elementwise.h"

#include "cpu_level.h"

namespace msic::engine {

#define MSIC_ELEMENTWISE_DECLARE(set)                                                \
  namespace set {                                                                    \
  void coupling_forward(float *y, const float *log_s, const float *t, size_t n);     \
  void coupling_inverse(float *y, const float *log_s, const float *t, size_t n);     \
  void soft_clamp(float *v, size_t n, float clamp);                                  \
  void add_prediction(float *p, const float *r, size_t n, float inv_gain);           \
  void coupling_gradient(float *g, float *raw_s, float *raw_t, const float *y2, size_t n, float clamp);          \
  void prediction_gradient(float *out, const float *g, const float *r, size_t n, float inv_gain);               \
  void relax_symbols(const float *fraction, const float *draw, size_t n, float temperature, float *up, float *slope); \
  void gaussian_bits(const float *v, const float *log2_scale, size_t n, float scale_min, float scale_max,        \
                     float *bits, float *slope, float *scale_slope);                                            \
  void logistic_draws(float *out, size_t n, uint32_t key, uint32_t first);                                     \
  }
MSIC_ELEMENTWISE_DECLARE(sse2)
MSIC_ELEMENTWISE_DECLARE(avx2)
MSIC_ELEMENTWISE_DECLARE(avx512)
#undef MSIC_ELEMENTWISE_DECLARE

// Each pass goes to the widest set the CPU level allows.
#define MSIC_ELEMENTWISE_DISPATCH(call)            \
  switch (cpu_level()) {                           \
    case CpuLevel::kAvx512: return avx512::call;   \
    case CpuLevel::kAvx2: return avx2::call;       \
    default: return sse2::call;                    \
  }

void coupling_forward(float *y, const float *log_s, const float *t, size_t n) {
  MSIC_ELEMENTWISE_DISPATCH(coupling_forward(y, log_s, t, n))
}
void coupling_inverse(float *y, const float *log_s, const float *t, size_t n) {
  MSIC_ELEMENTWISE_DISPATCH(coupling_inverse(y, log_s, t, n))
}
void soft_clamp(float *v, size_t n, float clamp) { MSIC_ELEMENTWISE_DISPATCH(soft_clamp(v, n, clamp)) }
void add_prediction(float *p, const float *r, size_t n, float inv_gain) {
  MSIC_ELEMENTWISE_DISPATCH(add_prediction(p, r, n, inv_gain))
}

void coupling_gradient(float *g, float *raw_s, float *raw_t, const float *y2, size_t n, float clamp) {
  MSIC_ELEMENTWISE_DISPATCH(coupling_gradient(g, raw_s, raw_t, y2, n, clamp))
}
void prediction_gradient(float *out, const float *g, const float *r, size_t n, float inv_gain) {
  MSIC_ELEMENTWISE_DISPATCH(prediction_gradient(out, g, r, n, inv_gain))
}
void relax_symbols(const float *fraction, const float *draw, size_t n, float temperature, float *up, float *slope) {
  MSIC_ELEMENTWISE_DISPATCH(relax_symbols(fraction, draw, n, temperature, up, slope))
}
void gaussian_bits(const float *v, const float *log2_scale, size_t n, float scale_min, float scale_max, float *bits,
                   float *slope, float *scale_slope) {
  MSIC_ELEMENTWISE_DISPATCH(gaussian_bits(v, log2_scale, n, scale_min, scale_max, bits, slope, scale_slope))
}
void logistic_draws(float *out, size_t n, uint32_t key, uint32_t first) {
  MSIC_ELEMENTWISE_DISPATCH(logistic_draws(out, n, key, first))
}

}  // namespace msic::engine
