// Integer arithmetic for everything that decides which CDF codes a symbol.
// Encoder and decoder must agree bit for bit on every machine, so this path
// uses no floating point at all: only integer adds, multiplies and shifts,
// whose results no compiler flag, SIMD level or thread count can change.
#pragma once
#include <cstdint>

namespace msic::fixed {

// Right shift that rounds half up; arithmetic for negatives.
inline int64_t shift_round(int64_t v, int bits) { return (v + (int64_t(1) << (bits - 1))) >> bits; }

// 2^(x / 65536) in fixed point with `frac_bits` fractional bits, for x in
// [-30 * 65536, 30 * 65536]. Bit-by-bit product of 2^(2^-j), j = 1..16.
int64_t exp2_q16(int32_t x_q16, int frac_bits);

// Float to Q(bits) at model load: the product with a power of two is exact
// and the rounding is IEEE round-to-nearest-even, so it is reproducible.
int32_t quantize(float v, int bits);

}  // namespace msic::fixed
