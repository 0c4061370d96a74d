// The element-wise passes for AVX-512 (see elementwise_kernel.inc; built with -mavx512f, no contraction into FMA).
#include <cstring>

#include "engine/elementwise.h"
#include "engine/exact_math.h"

namespace msic::engine::avx512 {
typedef float Vec __attribute__((vector_size(64)));
#include "engine/elementwise_kernel.inc"
}  // namespace msic::engine::avx512
