// exp and tanh in float operations only, evaluated in a fixed order: the
// same bits on every machine, compiler and libm (the engine is compiled
// with -ffp-contract=off, so no operation is fused). About 2 ulp.
#pragma once
#include <cmath>

namespace msic::engine {

inline float exact_exp(float x) {
  if (!(x == x)) return x;  // NaN
  if (x > 88.0f) return INFINITY;
  if (x < -87.0f) return 0.0f;
  // x = n ln2 + r, |r| <= ln2 / 2, ln2 split so that n * kLn2Hi is exact.
  const float n = std::nearbyint(x * 1.44269504f);
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-06f;
  // e^r by its Taylor series to r^7 (error under 1e-8 on the interval).
  float p = 1.98412698e-4f;
  p = p * r + 1.38888889e-3f;
  p = p * r + 8.33333333e-3f;
  p = p * r + 4.16666667e-2f;
  p = p * r + 1.66666667e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return std::ldexp(p, int(n));
}

inline float exact_tanh(float x) {
  if (!(x == x)) return x;
  const float a = std::fabs(x);
  if (a > 9.0f) return x > 0 ? 1.0f : -1.0f;
  // Small |x|: the series keeps the relative precision that 1 - 2/(e+1) loses.
  if (a < 0.125f) {
    const float x2 = x * x;
    return x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  }
  const float t = 1.0f - 2.0f / (exact_exp(2.0f * a) + 1.0f);
  return x > 0 ? t : -t;
}

}  // namespace msic::engine
