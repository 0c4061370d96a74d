#include "engine/kernels.h"

#include <cstring>
#include <string>

#include "cpu_level.h"
#include "errors.h"

namespace msic::engine {

namespace sse2 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count);
void residual_relu(const Conv &conv, Planes &x);
}
namespace avx2 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count);
void residual_relu(const Conv &conv, Planes &x);
}
namespace avx512 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count);
void residual_relu(const Conv &conv, Planes &x);
}

void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out) {
  if (conv.k != 1 && conv.k != 3) throw Error(MSIC_ERR_INTERNAL, "engine: kernel size must be 1 or 3");
  if (first_channel + conv.in > in.channels) throw Error(MSIC_ERR_INTERNAL, "engine: convolution input too small");
  switch (cpu_level()) {
    case CpuLevel::kAvx512: return avx512::convolve(conv, in, out, first_channel, relu_out);
    case CpuLevel::kAvx2: return avx2::convolve(conv, in, out, first_channel, relu_out);
    default: return sse2::convolve(conv, in, out, first_channel, relu_out);
  }
}

void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count) {
  if (conv.k != 1 || conv.in != in.channels || out.channels != conv.out || out.height != in.height ||
      out.width != in.width || first + count > in.plane_size())
    throw Error(MSIC_ERR_INTERNAL, "engine: a pixel range's convolution is 1x1 into planes of the input's size");
  switch (cpu_level()) {
    case CpuLevel::kAvx512: return avx512::convolve_pixels(conv, in, out, first, count);
    case CpuLevel::kAvx2: return avx2::convolve_pixels(conv, in, out, first, count);
    default: return sse2::convolve_pixels(conv, in, out, first, count);
  }
}

void residual_relu(const Conv &conv, Planes &x) {
  if (conv.k != 1 || conv.in != x.channels || conv.out != x.channels)
    throw Error(MSIC_ERR_INTERNAL, "engine: a residual convolution maps the planes to as many, 1x1");
  switch (cpu_level()) {
    case CpuLevel::kAvx512: return avx512::residual_relu(conv, x);
    case CpuLevel::kAvx2: return avx2::residual_relu(conv, x);
    default: return sse2::residual_relu(conv, x);
  }
}

namespace {
// Uninitialized: callers write what they read (zeroing was 4% of a decode).
using Scratch = PooledVector<float>;
thread_local Scratch scratch[2];
thread_local const ThreadShare *convolution_threads = nullptr;
}  // namespace

ThreadsScope::ThreadsScope(const ThreadShare *share) : previous_(convolution_threads) { convolution_threads = share; }
ThreadsScope::~ThreadsScope() { convolution_threads = previous_; }
int ThreadsScope::threads() { return convolution_threads ? convolution_threads->for_one_item() : 1; }

float *scratch_buffer(int slot, size_t floats) {
  auto &b = scratch[slot];
  if (b.size() < floats) {
    b.clear();
    b.shrink_to_fit();
    b.resize(floats);
  }
  return b.data();
}

void release_scratch() {
  for (auto &b : scratch) Scratch().swap(b);
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
