#include "engine/kernels.h"

#include <atomic>
#include <cstring>

#include "errors.h"

namespace msic::engine {

namespace sse2 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel);
}
namespace avx2 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel);
}

namespace {
std::atomic<int> forced_level{-1};

KernelLevel best_level() {
  static const KernelLevel level = __builtin_cpu_supports("avx2") ? KernelLevel::kAvx2 : KernelLevel::kSse2;
  return level;
}
}  // namespace

KernelLevel kernel_level() {
  const int forced = forced_level.load(std::memory_order_relaxed);
  return forced >= 0 ? KernelLevel(forced) : best_level();
}

void force_kernel_level(int level) {
  if (level >= 0 && KernelLevel(level) == KernelLevel::kAvx2 && best_level() != KernelLevel::kAvx2)
    throw Error(MSIC_ERR_UNSUPPORTED, "engine: this CPU has no AVX2");
  forced_level.store(level, std::memory_order_relaxed);
}

const char *kernel_level_name(KernelLevel level) { return level == KernelLevel::kAvx2 ? "avx2" : "sse2"; }

void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel) {
  if (conv.k != 1 && conv.k != 3) throw Error(MSIC_ERR_INTERNAL, "engine: kernel size must be 1 or 3");
  if (first_channel + conv.in > in.channels) throw Error(MSIC_ERR_INTERNAL, "engine: convolution input too small");
  if (kernel_level() == KernelLevel::kAvx2)
    avx2::convolve(conv, in, out, first_channel);
  else
    sse2::convolve(conv, in, out, first_channel);
}

void relu(Planes &x) {
  for (float &v : x.values) v = v > 0.0f ? v : 0.0f;
}

Planes space_to_depth(const Planes &x) {
  Planes out(x.channels * 4, x.height / 2, x.width / 2);
  for (int c = 0; c < x.channels; ++c)
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) {
        float *dst = out.plane(c * 4 + dy * 2 + dx);
        for (int y = 0; y < out.height; ++y)
          for (int xx = 0; xx < out.width; ++xx)
            dst[size_t(y) * out.width + xx] = x.plane(c)[size_t(2 * y + dy) * x.width + 2 * xx + dx];
      }
  return out;
}

Planes depth_to_space(const Planes &x) {
  Planes out(x.channels / 4, x.height * 2, x.width * 2);
  for (int c = 0; c < out.channels; ++c)
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) {
        const float *src = x.plane(c * 4 + dy * 2 + dx);
        for (int y = 0; y < x.height; ++y)
          for (int xx = 0; xx < x.width; ++xx)
            out.plane(c)[size_t(2 * y + dy) * out.width + 2 * xx + dx] = src[size_t(y) * x.width + xx];
      }
  return out;
}

}  // namespace msic::engine
