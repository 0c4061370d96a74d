// The convolution for AVX2 (see conv_kernel.inc; built with -mavx2, no FMA):
// sixteen pixels (two vectors) by four output channels in registers.
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels.h"
#include "parallel.h"

namespace msic::engine::avx2 {
typedef float Vec __attribute__((vector_size(32)));
constexpr int kVecs = 2, kOutBlock = 4;
#include "engine/conv_kernel.inc"
}  // namespace msic::engine::avx2
