// The convolution for AVX2 (see conv_kernel.inc; built with -mavx2, no FMA).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "engine/kernels.h"

namespace msic::engine::avx2 {
constexpr int kOutBlock = 4, kPixelBlock = 8;
#include "engine/conv_kernel.inc"
}  // namespace msic::engine::avx2
