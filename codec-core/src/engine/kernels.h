// The engine's kernels. Every output value is computed in one fixed order
// (bias, then input channel, kernel row, kernel column), whatever the
// vector width the compiler picks for the rows: vectors run across pixels,
// never across a sum. With -ffp-contract=off that makes the results
// bit-identical on every machine.
#pragma once
#include <vector>

#include "parallel.h"
#include "planes.h"

namespace msic::engine {

// A convolution's weights, [out][in][k][k] (LibTorch's layout), k 1 or 3,
// zero padding k / 2, stride 1.
struct Conv {
  int in = 0, out = 0, k = 0;
  std::vector<float> weights, bias;  // bias empty: none
};

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
// LibTorch's pixel_unshuffle(x, 2) and pixel_shuffle(x, 2).
Planes space_to_depth(const Planes &x);
Planes depth_to_space(const Planes &x);

}  // namespace msic::engine
