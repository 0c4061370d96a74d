// Round to the nearest integer, ties to even, as nearbyint does in the
// default rounding mode, without a libm call per value: adding 1.5 * 2^(m)
// (m = the mantissa bits) leaves no fraction bits, so the sum is rounded by
// the addition itself, and subtracting it back is exact. Needs |v| below
// 2^(m - 1) and no -ffast-math (which could cancel the pair).
#pragma once

namespace msic {

inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }             // |v| < 2^22
inline double round_even(double v) { return (v + 6755399441055744.0) - 6755399441055744.0; }  // |v| < 2^51

}  // namespace msic
