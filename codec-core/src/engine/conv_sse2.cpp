// The convolution for SSE2 (see conv_kernel.inc).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "engine/kernels.h"

namespace msic::engine::sse2 {
typedef float Vec __attribute__((vector_size(16)));
constexpr int kOutBlock = 4, kPixelBlock = 8;
#include "engine/conv_kernel.inc"
}  // namespace msic::engine::sse2
