#include "engine/kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "cpu_level.h"
#include "errors.h"
#include "round_even.h"

namespace msic::engine {

namespace sse2 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_int(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count);
void residual_relu(const Conv &conv, Planes &x);
}
namespace avx2 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_int(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count);
void residual_relu(const Conv &conv, Planes &x);
}
namespace avx512 {
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_int(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out);
void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count);
void residual_relu(const Conv &conv, Planes &x);
}

namespace {
std::atomic<InputRangeObserver> range_observer{nullptr};
std::atomic<void *> range_context{nullptr};
}  // namespace

void observe_input_ranges(InputRangeObserver observer, void *context) {
  // A convolution that sees the observer sees its context: set the context
  // first, clear it last.
  if (observer) range_context.store(context);
  range_observer.store(observer);
  if (!observer) range_context.store(nullptr);
}

void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel, bool relu_out) {
  if (conv.k != 1 && conv.k != 3) throw Error(MSIC_ERR_INTERNAL, "engine: kernel size must be 1 or 3");
  if (first_channel + conv.in > in.channels) throw Error(MSIC_ERR_INTERNAL, "engine: convolution input too small");
  if (const InputRangeObserver observer = range_observer.load(); observer && conv.k == 3) {
    float largest = 0.0f;
    const float *v = in.plane(first_channel);
    for (size_t i = 0; i < size_t(conv.in) * in.plane_size(); ++i) largest = std::max(largest, std::fabs(v[i]));
    observer(conv, largest, range_context.load());
  }
  if (conv.input_shift >= 0) {
    if (conv.k != 3 || conv.qweights.size() != size_t(conv.out) * conv.in * 9 || int(conv.out_scale.size()) != conv.out)
      throw Error(MSIC_ERR_INTERNAL, "engine: integer convolutions are 3x3, made by make_integer");
    switch (cpu_level()) {
      case CpuLevel::kAvx512: return avx512::convolve_int(conv, in, out, first_channel, relu_out);
      case CpuLevel::kAvx2: return avx2::convolve_int(conv, in, out, first_channel, relu_out);
      default: return sse2::convolve_int(conv, in, out, first_channel, relu_out);
    }
  }
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

void make_integer(Conv &conv, int input_shift) {
  const size_t per_out = size_t(conv.in) * conv.k * conv.k;
  if (conv.k != 3 || input_shift < 0 || input_shift > 30 || conv.weights.size() != per_out * size_t(conv.out))
    throw Error(MSIC_ERR_MODEL, "integer convolutions are 3x3, with input steps of 2^-30 to 1");
  if (!integer_sums_fit(double(per_out)))
    throw Error(MSIC_ERR_MODEL, "an integer convolution has too many inputs for exact int32 sums");
  conv.qweights.assign(conv.weights.size(), 0);
  conv.out_scale.assign(size_t(conv.out), 0.0f);
  for (int o = 0; o < conv.out; ++o) {
    const float *w = conv.weights.data() + size_t(o) * per_out;
    float largest = 0.0f;
    bool nan = false;  // (a maximum skips NaNs)
    for (size_t i = 0; i < per_out; ++i) {
      const float a = std::fabs(w[i]);
      nan |= a != a;
      largest = std::max(largest, a);
    }
    if (nan || !std::isfinite(largest)) throw Error(MSIC_ERR_MODEL, "a convolution's weights are not finite");
    // (A step below binary32's normal range, zero included, would divide
    // weights by zero: such weights are all zero steps, with step 1.)
    float step = largest / float(kWeightLimit);
    if (!(step >= std::numeric_limits<float>::min())) step = 1.0f;
    for (size_t i = 0; i < per_out; ++i)
      conv.qweights[size_t(o) * per_out + i] = int16_t(std::clamp(round_even(w[i] / step), -float(kWeightLimit), float(kWeightLimit)));
    conv.out_scale[size_t(o)] = std::ldexp(step, -input_shift);
  }
  conv.input_shift = input_shift;
  conv.weights.clear();
  conv.weights.shrink_to_fit();
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
thread_local PooledVector<int32_t> int_scratch;
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

int32_t *int_scratch_buffer(size_t count) {
  if (int_scratch.size() < count) {
    int_scratch.clear();
    int_scratch.shrink_to_fit();
    int_scratch.resize(count);
  }
  return int_scratch.data();
}

void release_scratch() {
  for (auto &b : scratch) Scratch().swap(b);
  PooledVector<int32_t>().swap(int_scratch);
}

Planes channels(const Planes &x, int first, int count) {
  Planes out(count, x.height, x.width);
  memcpy(out.values.data(), x.plane(first), sizeof(float) * out.values.size());
  return out;
}

Planes concat(const Planes &a, const Planes &b) {
  Planes out(a.channels + b.channels, a.height, a.width);
  memcpy(out.values.data(), a.values.data(), sizeof(float) * a.values.size());
  memcpy(out.values.data() + a.values.size(), b.values.data(), sizeof(float) * b.values.size());
  return out;
}

namespace {
// A convolution's weights in float: its own, or an integer convolution's
// steps times their scale (make_integer), the weights its sums apply.
float weight(const Conv &c, size_t at, int out) {
  if (c.input_shift < 0) return c.weights[at];
  return float(c.qweights[at]) * c.out_scale[size_t(out)] * std::ldexp(1.0f, c.input_shift);
}
}  // namespace

// The kernel mirrored, inputs and outputs swapped, no bias.
Conv transposed(const Conv &c) {
  Conv t;
  t.name = c.name + " (transposed)";
  t.in = c.out, t.out = c.in, t.k = c.k;
  t.weights.resize(size_t(c.out) * c.in * c.k * c.k);
  for (int o = 0; o < c.out; ++o)
    for (int i = 0; i < c.in; ++i)
      for (int ky = 0; ky < c.k; ++ky)
        for (int kx = 0; kx < c.k; ++kx) {
          const size_t from = ((size_t(o) * c.in + i) * c.k + ky) * c.k + kx;
          const size_t to = ((size_t(i) * c.out + o) * c.k + (c.k - 1 - ky)) * c.k + (c.k - 1 - kx);
          t.weights[to] = weight(c, from, o);
        }
  return t;
}

void relu_gradient(Planes &g, const Planes &after) {
  in_ranges(g.values.size(), [&](size_t first, size_t last) {
    float *v = g.values.data();
    const float *a = after.values.data();
    for (size_t i = first; i < last; ++i) v[i] = a[i] > 0.0f ? v[i] : 0.0f;  // (a select: vectorised)
  });
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
