// The convolution for AVX2 (see conv_kernel.inc; built with -mavx2, no FMA):
// two vectors of pixels per output channel, four chains of additions each
// side, enough to hide the add latency.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "engine/kernels.h"

namespace msic::engine::avx2 {
typedef float Vec __attribute__((vector_size(32)));
constexpr int kOutBlock = 4, kPixelBlock = 16;
#include "engine/conv_kernel.inc"
}  // namespace msic::engine::avx2
