// The convolution for AVX-512 (see conv_kernel.inc; built with -mavx512f,
// no contraction into FMA): 64 pixels (four vectors) by six output
// channels in registers, 24 accumulators of the 32 registers. On this
// project's Zen 5 machine, the couplings' convolutions of a 512-px tile
// took 8-10% less time than with four channels, in one process
// alternating the two; four were measured faster than 32 x 8 on Zen 4.
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels.h"
#include "parallel.h"

namespace msic::engine::avx512 {
typedef float Vec __attribute__((vector_size(64)));
constexpr int kVecs = 4, kOutBlock = 6;
#include "engine/conv_kernel.inc"
}  // namespace msic::engine::avx512
