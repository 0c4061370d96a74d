// Latent refinement on the trainer's float model: what the encoder's top
// effort (latent_annealing.h, on the engine) does, on LibTorch's twin, to
// measure it against. The latents the analysis makes are moved, with
// gradients of rate + lambda x distortion through the context nets, the
// residual prediction and the synthesis, so that rounding them (as the
// codec does: each to the nearest step from its mean) costs less for the
// same error. Stochastic Gumbel annealing (Yang, Bamler, Mandt, "Improving
// Inference for Neural Image Compression", NeurIPS 2020). The decoder is
// unchanged. RefinementSettings::context_gradients measures what the
// context nets' gradients add.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "network.h"

namespace msic::net {

struct RefinementSettings {
  int steps = 300;
  double learning_rate = 0.01;  // Adam's, in quantization steps
  double start_temperature = 0.5, end_temperature = 0.05;  // falls geometrically
  // false: no gradient through the context nets (rate_distortion_of_latents)
  bool context_gradients = true;
};

// Refined latents of image x ([1, 3, H, W] in [-0.5, 0.5]) at `anchor`,
// minimising bpp + lambda x 255^2 x MSE. Not moved to the centres of their
// steps: the estimate's means for a causal model's anchors come from a
// first guess, so its centres are not the codec's (snapped, kodim23 crop,
// anchor 3: the same bits, 0.18 dB less than coded as they are).
std::vector<torch::Tensor> refine_latents(MsicModel &model, const torch::Tensor &x, int anchor, double lambda,
                                          const RefinementSettings &settings);

}  // namespace msic::net
