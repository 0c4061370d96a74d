// The element-wise passes for SSE2, the x86-64 baseline (see elementwise_kernel.inc).
#include <cstring>

#include "engine/elementwise.h"
#include "engine/exact_math.h"

namespace msic::engine::sse2 {
typedef float Vec __attribute__((vector_size(16)));
#include "engine/elementwise_kernel.inc"
}  // namespace msic::engine::sse2
