#include "fixed_point.h"

#include <cmath>
#include <limits>

namespace msic::fixed {

// round(2^(2^-j) * 2^30), j = 1..16
static constexpr int64_t kRoot2Q30[16] = {
    1518500250, 1276901417, 1170923762, 1121280436, 1097253708, 1085434106,
    1079572136, 1076653033, 1075196443, 1074468888, 1074105294, 1073923544,
    1073832680, 1073787251, 1073764537, 1073753181};

int64_t exp2_q16(int32_t x_q16, int frac_bits) {
  int32_t whole = x_q16 >> 16;      // floor
  uint32_t frac = uint32_t(x_q16) & 0xffff;
  int64_t r = int64_t(1) << 30;     // Q30
  for (int j = 0; j < 16; ++j)
    if (frac & (0x8000u >> j)) r = (r * kRoot2Q30[j] + (int64_t(1) << 29)) >> 30;
  int shift = whole + frac_bits - 30;
  if (shift >= 0) return shift >= 32 ? std::numeric_limits<int64_t>::max() : r << shift;
  return -shift >= 62 ? 0 : shift_round(r, -shift);
}

int32_t quantize(float v, int bits) {
  double scaled = double(v) * double(int64_t(1) << bits);
  if (!(scaled > -2147483647.0)) return -2147483647;
  if (!(scaled < 2147483647.0)) return 2147483647;
  return int32_t(std::nearbyint(scaled));
}

}  // namespace msic::fixed
