// Planes <-> LibTorch tensors [1, C, H, W]: where the engine and
// the LibTorch modules meet (the engine's tests and benchmark). Include
// only where LibTorch is needed.
#pragma once
#include <torch/torch.h>

#include <cstring>

#include "planes.h"

namespace msic::net {

inline torch::Tensor to_tensor(const Planes &p) {
  return torch::from_blob(const_cast<float *>(p.values.data()), {1, p.channels, p.height, p.width}, torch::kFloat)
      .clone();
}

inline Planes to_planes(const torch::Tensor &t) {
  auto c = t.contiguous().to(torch::kFloat);
  Planes p(int(c.size(1)), int(c.size(2)), int(c.size(3)));
  memcpy(p.values.data(), c.data_ptr<float>(), sizeof(float) * p.values.size());
  return p;
}

}  // namespace msic::net
