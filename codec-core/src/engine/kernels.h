// The engine's kernels. Every output value is computed in one fixed order
// (bias, then input channel, kernel row, kernel column), whatever the
// vector width the compiler picks for the rows: vectors run across pixels,
// never across a sum. With -ffp-contract=off that makes the results
// bit-identical on every machine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "parallel.h"
#include "planes.h"

namespace msic::engine {

// A convolution's weights, [out][in][k][k] (LibTorch's layout), k 1 or 3,
// zero padding k / 2, stride 1.
//
// Integer convolutions (3x3, in a model that asks for them: MSIC.md,
// "Integer convolution"): with input_shift >= 0, each input value v
// becomes the step q = v * 2^input_shift clamped to +-kActivationLimit (NaN
// to the lower limit) and rounded half to even; each output channel's
// weights become steps of their largest magnitude / kWeightLimit
// (make_integer); the sum over inputs and taps is exact in int32 (the
// limits keep it below 2^31 for up to 1026 products: 114 input channels of
// 3x3); the output is float(sum) * out_scale[o] + bias[o], two roundings.
// So every machine and instruction set gives the same bits, and a SIMD
// multiply-add of int16 pairs does two products per 32-bit lane.
constexpr int kActivationLimit = 4095;  // 13-bit steps
constexpr int kWeightLimit = 511;       // 10-bit steps
struct Conv {
  std::string name;  // its weights' tensor in the model file
  int in = 0, out = 0, k = 0;
  std::vector<float> weights, bias;  // weights: none once integer; bias empty: none
  int input_shift = -1;              // >= 0: integer arithmetic
  std::vector<int16_t> qweights;     // the weights' steps, [out][in][k][k]
  std::vector<float> out_scale;      // per output: 2^-input_shift x its weights' step
};
// Whether a convolution's int32 sums of `products` products per output
// (inputs x taps) stay exact at the limits above.
constexpr bool integer_sums_fit(double products) {
  return products * kActivationLimit * kWeightLimit < 2147483648.0;
}
// The model file's tensor with a convolution's input step: its weights'
// name and this.
constexpr const char *kInputShiftSuffix = ".input_shift";
// Sets conv's integer arithmetic (above) for inputs in steps of
// 2^-input_shift (0..30): the weights' steps from its float weights, which
// it then frees (the kernels read only the steps). Throws MSIC_ERR_MODEL for
// a convolution that is not 3x3 or whose sums could overflow.
void make_integer(Conv &conv, int input_shift);

// Calibration of integer convolutions (msic-model-init --integer): while
// an observer is set, every 3x3 convolution reports the largest magnitude
// of its input to it (from whichever thread runs it). nullptr: none.
using InputRangeObserver = void (*)(const Conv &conv, float largest, void *context);
void observe_input_ranges(InputRangeObserver observer, void *context);

// out = conv(in), then ReLU if relu_out; the convolution reads channels
// [first_channel, first_channel + conv.in) of `in`.
void convolve(const Conv &conv, const Planes &in, Planes &out, int first_channel = 0, bool relu_out = false);
// A 1x1 convolution (no ReLU) on pixels [first, first + count) of every
// plane only, into `out`, already of conv.out planes of in's size: one
// part of a tile's rows, each value as convolve() computes it.
void convolve_pixels(const Conv &conv, const Planes &in, Planes &out, size_t first, size_t count);
// x = x + relu(conv(x)) in place, for a 1x1 convolution from x's channels
// to as many (the couplings' second layer): no second plane set.
void residual_relu(const Conv &conv, Planes &x);
// The instruction set comes from cpu_level() (cpu_level.h).
// The convolutions' working buffers, one set per thread, reused from call
// to call (fresh pages cost more than the arithmetic on small images):
// scratch_buffer(slot, floats) gives slot 0 or 1 with room for `floats`
// (contents undefined); release_scratch() frees this thread's, as each
// tile's network ends (ScratchScope).
float *scratch_buffer(int slot, size_t floats);
int32_t *int_scratch_buffer(size_t count);  // the integer convolutions' input, likewise
void release_scratch();
struct ScratchScope {  // releases this thread's buffers however the scope ends
  ~ScratchScope() { release_scratch(); }
};
// Threads the network and a convolution called from this thread may use
// (ThreadShare, parallel.h; none: only this one): a tile coded while cores
// are idle gives each a part of its rows (network_engine.cpp), and where a
// plane is too small to part, splits a convolution by output blocks and
// pixel ranges. Each output value is computed as before, so the bits do
// not change.
class ThreadsScope {
 public:
  explicit ThreadsScope(const ThreadShare *share);
  ~ThreadsScope();
  static int threads();  // for this thread's convolution now

 private:
  const ThreadShare *previous_;
};
// fn(first, last) over [0, n) in ranges, on the threads the calling
// thread's ThreadsScope lends: for element-wise work, each element its own.
// At least `grain` elements a range: waking a pooled thread costs 50-170 us
// (parallel.h), what some 16384 floats of a simple pass take.
constexpr size_t kElementGrain = 16384;
template <class Fn>
void in_ranges(size_t n, Fn fn, size_t grain = kElementGrain) {
  const size_t threads = std::min<size_t>(size_t(ThreadsScope::threads()), n / std::max<size_t>(grain, 1) + 1);
  parallel_for(threads, int(threads), [&](size_t k) { fn(k * n / threads, (k + 1) * n / threads); });
}
// Channels [first, first + count) of x; a's planes then b's (same size).
Planes channels(const Planes &x, int first, int count);
Planes concat(const Planes &a, const Planes &b);
// For gradients (the encoder's latent refinement): the convolution whose
// output is the gradient on c's input from one on its output (float
// weights, an integer convolution's steps times their scale); g = 0 where
// the ReLU that made `after` (or whose input `after` was) was off.
Conv transposed(const Conv &c);
void relu_gradient(Planes &g, const Planes &after);
// LibTorch's pixel_unshuffle(x, 2) and pixel_shuffle(x, 2).
Planes space_to_depth(const Planes &x);
Planes depth_to_space(const Planes &x);

}  // namespace msic::engine
