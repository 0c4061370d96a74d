// One layer of the integer context nets: y = b + W x in wrapping int32
// arithmetic (int16 weights and inputs), for a batch of positions at once.
// Integer sums are exact in any order, so the weights are laid out for
// vectors that run across the outputs, two inputs at a time (one
// multiply-add of int16 pairs per lane): w[(pair * lanes + output) * 2 +
// {0, 1}], `lanes` being the outputs rounded up to a whole 512-bit vector
// (zero weights past them), so every instruction set runs whole vectors.
// The instruction set comes from cpu_level(); every level gives the same
// numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace msic::entropy {

struct DenseLayer {
  static constexpr int kLaneMultiple = 16;
  int inputs = 0, outputs = 0, pairs = 0, lanes = 0;
  std::vector<int16_t> w;
  std::vector<int32_t> b;  // `lanes` entries

  DenseLayer() = default;
  // weight(o, i) for o < outputs, i < inputs (int16 range); bias(o).
  template <class Weight, class Bias>
  DenseLayer(int in, int out, Weight weight, Bias bias)
      : inputs(in), outputs(out), pairs((in + 1) / 2), lanes((out + kLaneMultiple - 1) / kLaneMultiple * kLaneMultiple) {
    w.assign(size_t(pairs) * lanes * 2, 0);
    b.assign(lanes, 0);
    for (int o = 0; o < outputs; ++o) {
      b[o] = bias(o);
      for (int i = 0; i < inputs; ++i) w[(size_t(i / 2) * lanes + o) * 2 + i % 2] = int16_t(weight(o, i));
    }
  }
  // For each of `count` positions k: y + k * y_stride (`lanes` entries)
  // from x + k * x_stride (2 * pairs entries; what lies past `inputs` is
  // multiplied by zero weights). Each weight vector is loaded once for up
  // to four positions.
  void apply(const int16_t *x, size_t x_stride, int count, int32_t *y, size_t y_stride) const;
};

}  // namespace msic::entropy
