// exp, tanh, log and erfc in float operations only, evaluated in a
// fixed order: the same bits on every machine, compiler and libm (the
// engine is compiled with -ffp-contract=off, so no operation is fused).
// exp, tanh and log: about 2 ulp; erfc: below (see there).
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
// The integer type of T's bits: int32_t, or the GCC vector of as many.
template <class T>
struct bits_type {
  typedef int32_t type __attribute__((vector_size(sizeof(T))));
};
template <>
struct bits_type<float> {
  typedef int32_t type;
};
template <class T>
inline typename bits_type<T>::type bits_of(T x) {
  typename bits_type<T>::type b;
  memcpy(&b, &x, sizeof b);
  return b;
}
template <class T>
inline T from_bits(typename bits_type<T>::type b) {
  T x;
  memcpy(&x, &b, sizeof x);
  return x;
}
inline float to_float(int32_t i) { return float(i); }
template <class I>
inline auto to_float(I i) {
  typedef float V __attribute__((vector_size(sizeof(I))));
  return __builtin_convertvector(i, V);
}

// ln x for a positive normal x: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
// ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its series to
// s^9 (error under 1e-9). Below the normal range (0 and subnormals) gives
// ln of the smallest normal; +inf gives +inf; negatives and NaN give NaN.
template <class T>
__attribute__((always_inline)) inline T log_of(T x) {
  const T smallest = splat<T>(1.17549435e-38f);
  const auto special = !(x < splat<T>(INFINITY)) | (x < splat<T>(0.0f));  // NaN, +inf, negatives
  const T c = special ? splat<T>(1.0f) : (x < smallest ? smallest : x);
  auto bits = bits_of(c);
  auto e = ((bits >> 23) & 0xff) - 127;
  T m = from_bits<T>((bits & 0x7fffff) | 0x3f800000);  // [1, 2)
  const auto high = m > splat<T>(1.41421356f);
  m = high ? m * 0.5f : m;
  e = high ? e + 1 : e;
  const T s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  const T series = 2.0f * s * (1.0f + s2 * (0.333333333f + s2 * (0.2f + s2 * (0.142857143f + s2 * 0.111111111f))));
  const T n = to_float(e);
  const T r = (n * 0.693145752f + series) + n * 1.42860677e-06f;
  return special ? (x < splat<T>(0.0f) ? splat<T>(NAN) : x) : r;
}

// erfc x (Press et al., Numerical Recipes, erfcc: a Chebyshev fit of
// fractional error under 1.2e-7 in exact arithmetic; about 1e-6 in float
// below x = 5). For x < 0, 2 - erfc(-x). NaN stays NaN.
template <class T>
__attribute__((always_inline)) inline T erfc_of(T x) {
  const T z = abs_of(x), t = 1.0f / (1.0f + 0.5f * z);
  T p = splat<T>(0.17087277f);
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const T y = t * exp_of(p - z * z);
  return x < splat<T>(0.0f) ? 2.0f - y : y;
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
template <class T>
inline T exact_log(T x) {
  return detail::log_of(x);
}
template <class T>
inline T exact_erfc(T x) {
  return detail::erfc_of(x);
}

}  // namespace
}  // namespace msic::engine
