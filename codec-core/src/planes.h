// Channels x height x width floats, row-major: an image, a latent or an
// activation of one tile (no batch dimension). What the engine's kernels
// take and give, and the latents the context model codes.
#pragma once
#include <cstddef>

#include "buffer_pool.h"

namespace msic {

struct Planes {
  int channels = 0, height = 0, width = 0;
  PooledVector<float> values;  // every value written before use

  Planes() = default;
  Planes(int c, int h, int w) : channels(c), height(h), width(w), values(size_t(c) * h * w) {}
  size_t plane_size() const { return size_t(height) * width; }
  float *plane(int c) { return values.data() + size_t(c) * plane_size(); }
  const float *plane(int c) const { return values.data() + size_t(c) * plane_size(); }
};

}  // namespace msic
