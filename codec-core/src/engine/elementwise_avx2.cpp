// The element-wise passes for AVX2 (see elementwise_kernel.inc; built with -mavx2, no FMA).
#include <cstring>

#include "engine/elementwise.h"
#include "engine/exact_math.h"

namespace msic::engine::avx2 {
typedef float Vec __attribute__((vector_size(32)));
#include "engine/elementwise_kernel.inc"
}  // namespace msic::engine::avx2
