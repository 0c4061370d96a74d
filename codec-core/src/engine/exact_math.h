// exp and tanh in float operations only, evaluated in a fixed order: the
// same bits on every machine, compiler and libm (the engine is compiled
// with -ffp-contract=off, so no operation is fused). About 2 ulp.
//
// Each is written once, for a float and for F4 (four floats, SSE2, every
// x86-64): the element-wise passes run four lanes at a time, and every
// lane does what the scalar function does (Engine.VectorMathIsTheScalarMath).
// GCC would not vectorise the scalar loops itself: a select on an ordered
// comparison may raise an exception, so it keeps the branches.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace msic::engine {
// Internal linkage: the files compiled for AVX2 and AVX-512 include this
// too, and a shared (weak) copy of a function could be the AVX one that
// baseline code then calls.
namespace {

typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

inline F4 load4(const float *p) {
  F4 v;
  memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float *p, F4 v) { memcpy(p, &v, sizeof v); }

namespace detail {
// {v, v, ...} for a GCC vector of floats, v for a float.
template <class T>
inline T splat(float v) {
  return v - T{};  // v - (+0) is v for every v, -0 and NaN included
}
template <>
inline float splat<float>(float v) {
  return v;
}
inline float abs_of(float x) { return std::fabs(x); }
template <class V>
inline V abs_of(V x) {
  typedef int32_t I __attribute__((vector_size(sizeof(V))));
  return (V)((I)x & 0x7fffffff);
}
// 2^n for an integral n in [-126, 127]: a normal float built from its bits.
inline float pow2(float n) {
  const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}
template <class V>
inline V pow2(V n) {
  typedef int32_t I __attribute__((vector_size(sizeof(V))));
  return (V)((__builtin_convertvector(n, I) + 127) << 23);
}

template <class T>
__attribute__((always_inline)) inline T exp_of(T x) {
  const T k88 = splat<T>(88.0f), k87 = splat<T>(-87.0f);
  const auto nan = x != x;
  const T c = nan ? splat<T>(0.0f) : (x > k88 ? k88 : (x < k87 ? k87 : x));
  // c = n ln2 + r, |r| <= ln2 / 2, ln2 split so that n * kLn2Hi is exact.
  // n: rounded to the nearest integer, ties to even, by adding and
  // subtracting 1.5 * 2^23 (exact for |v| < 2^22; no libm).
  const T n = (c * 1.44269504f + 12582912.0f) - 12582912.0f;
  const T r = (c - n * 0.693145752f) - n * 1.42860677e-06f;
  // e^r by its Taylor series to r^7 (error under 1e-8 on the interval).
  T p = splat<T>(1.98412698e-4f);
  p = p * r + 1.38888889e-3f;
  p = p * r + 8.33333333e-3f;
  p = p * r + 4.16666667e-2f;
  p = p * r + 1.66666667e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // p * 2^n: a product with a power of two is exact (or correctly rounded
  // below the normal range), as ldexp is.
  const T e = p * pow2(n);
  return nan ? x : (x > k88 ? splat<T>(INFINITY) : (x < k87 ? splat<T>(0.0f) : e));
}

template <class T>
__attribute__((always_inline)) inline T tanh_of(T x) {
  const auto nan = x != x;
  const T a = nan ? splat<T>(0.0f) : abs_of(x);
  // Small |x|: the series keeps the relative precision that 1 - 2/(e+1) loses.
  const T x2 = a * a;
  const T series = a * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  const T k9 = splat<T>(9.0f);
  const T formula = 1.0f - 2.0f / (exp_of(2.0f * (a > k9 ? k9 : a)) + 1.0f);
  const T t = a > k9 ? splat<T>(1.0f) : (a < splat<T>(0.125f) ? series : formula);
  return nan ? x : (x > splat<T>(0.0f) ? t : -t);
}
}  // namespace detail

// For a float or any GCC vector of floats (F4; the element-wise kernels'
// wider ones).
template <class T>
inline T exact_exp(T x) {
  return detail::exp_of(x);
}
template <class T>
inline T exact_tanh(T x) {
  return detail::tanh_of(x);
}

}  // namespace
}  // namespace msic::engine
