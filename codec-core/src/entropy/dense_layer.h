// One layer of the integer context nets: y = b + W x in wrapping int32
// arithmetic (int16 weights and inputs). Integer sums are exact in any
// order, so the weights are laid out for vectors that run across the
// outputs, two inputs at a time (one multiply-add of int16 pairs per lane):
// w[(pair * lanes + output) * 2 + {0, 1}]. The instruction set comes from
// cpu_level(); every level gives the same numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace msic::entropy {

struct DenseLayer {
  int inputs = 0, outputs = 0, pairs = 0, lanes = 0;  // lanes: outputs rounded up to 4
  std::vector<int16_t> w;
  std::vector<int32_t> b;  // `lanes` entries

  DenseLayer() = default;
  // weight(o, i) for o < outputs, i < inputs (int16 range); bias(o).
  template <class Weight, class Bias>
  DenseLayer(int in, int out, Weight weight, Bias bias)
      : inputs(in), outputs(out), pairs((in + 1) / 2), lanes((out + 3) & ~3) {
    w.assign(size_t(pairs) * lanes * 2, 0);
    b.assign(lanes, 0);
    for (int o = 0; o < outputs; ++o) {
      b[o] = bias(o);
      for (int i = 0; i < inputs; ++i) w[(size_t(i / 2) * lanes + o) * 2 + i % 2] = int16_t(weight(o, i));
    }
  }
  // y: `lanes` entries; x: 2 * pairs entries (what lies past `inputs` is
  // multiplied by zero weights).
  void apply(const int16_t *x, int32_t *y) const;
};

}  // namespace msic::entropy
