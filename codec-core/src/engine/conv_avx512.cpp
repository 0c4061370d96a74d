// The convolution for AVX-512 (see conv_kernel.inc; built with -mavx512f,
// no contraction into FMA): 64 pixels (four vectors) by four output
// channels in registers (measured faster than 32 x 8 on Zen 4, and the
// 12-channel layers need no padding).
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels.h"
#include "parallel.h"

namespace msic::engine::avx512 {
typedef float Vec __attribute__((vector_size(64)));
constexpr int kVecs = 4, kOutBlock = 4;
#include "engine/conv_kernel.inc"
}  // namespace msic::engine::avx512
