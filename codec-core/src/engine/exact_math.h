// exp and tanh in float operations only, evaluated in a fixed order: the
// same bits on every machine, compiler and libm (the engine is compiled
// with -ffp-contract=off, so no operation is fused). About 2 ulp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace msic::engine {

// Rounds to the nearest integer, ties to even, for |v| < 2^22: adding and
// subtracting 1.5 * 2^23 leaves no fraction bits (nearbyint without libm,
// so the loops calling it vectorise on every instruction set).
inline float round_to_integer(float v) { return (v + 12582912.0f) - 12582912.0f; }

// Branch-free (selects, not jumps) so that the loops over planes vectorise.
inline float exact_exp(float x) {
  const bool nan = !(x == x);
  const float c = nan ? 0.0f : (x > 88.0f ? 88.0f : (x < -87.0f ? -87.0f : x));
  // c = n ln2 + r, |r| <= ln2 / 2, ln2 split so that n * kLn2Hi is exact.
  const float n = round_to_integer(c * 1.44269504f);
  const float r = (c - n * 0.693145752f) - n * 1.42860677e-06f;
  // e^r by its Taylor series to r^7 (error under 1e-8 on the interval).
  float p = 1.98412698e-4f;
  p = p * r + 1.38888889e-3f;
  p = p * r + 8.33333333e-3f;
  p = p * r + 4.16666667e-2f;
  p = p * r + 1.66666667e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // p * 2^n: 2^n is a normal float for n in [-126, 127] and a product with
  // a power of two is exact (or correctly rounded below the normal range),
  // as ldexp is.
  const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;
  float two_n;
  memcpy(&two_n, &bits, sizeof two_n);
  const float e = p * two_n;
  return nan ? x : (x > 88.0f ? INFINITY : (x < -87.0f ? 0.0f : e));
}

inline float exact_tanh(float x) {
  const bool nan = !(x == x);
  const float a = nan ? 0.0f : std::fabs(x);
  // Small |x|: the series keeps the relative precision that 1 - 2/(e+1) loses.
  const float x2 = a * a;
  const float series = a * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  const float formula = 1.0f - 2.0f / (exact_exp(2.0f * (a > 9.0f ? 9.0f : a)) + 1.0f);
  const float t = a > 9.0f ? 1.0f : (a < 0.125f ? series : formula);
  return nan ? x : (x > 0 ? t : -t);
}

}  // namespace msic::engine
