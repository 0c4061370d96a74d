// The rate model: what coding a batch costs and what it decodes to, in
// float and differentiable, following the codec's coding schedule
// (entropy/coding_schedule.h) with the same nets and gains. The trainer
// minimises it, `msic-train --eval` reports it, and the tests compare it with
// the bytes the codec writes. LibTorch: include only where it is needed.
#pragma once
#include <torch/torch.h>

#include <array>
#include <vector>

#include "network.h"

namespace msic::net {

struct RateDistortion {
  torch::Tensor loss, bpp, mse, x_hat;
  // Estimates only: bits per latent (fine to coarse) and coding pass.
  std::vector<std::array<double, 2>> latent_bits;
};

enum class RateMode {
  kTraining,  // uniform noise for the rate, straight-through rounding for the reconstruction
  kEstimate,  // the symbols the codec would code (no gradients needed)
  // Latent refinement (stochastic Gumbel annealing, Yang et al. 2020): each
  // latent a random mix of its two nearest steps, leaning to the nearer one
  // the more the lower the temperature; rate and reconstruction alike.
  kAnnealed,
};

// The lambda of quality anchor a of `anchors`: geometric from `low` at
// anchor 0 to `high` at the last (msic-train's --lambda-low, --lambda-high).
constexpr double kLambdaLow = 0.0015, kLambdaHigh = 0.6;
double anchor_lambda(int a, int anchors, double low = kLambdaLow, double high = kLambdaHigh);

// Rate (bits) and reconstruction of batch x (in [-0.5, 0.5]) at quality
// anchor `anchor`; loss = lambda * 255^2 * MSE + bpp.
RateDistortion rate_distortion(MsicModel &model, const torch::Tensor &x, int anchor, double lambda, RateMode mode);
// The same from given latents (fine to coarse, as the analysis makes them),
// which may require gradients: the encoder's latent refinement.
// temperature: kAnnealed's, in (0, 0.5]. context_gradients false: the
// context nets' means and scales are taken as constants (computed from the
// latents as they are, no gradient through them), the rate's only
// dependence on a latent being its own symbol's cost: what a backward pass
// without the context nets' would give.
RateDistortion rate_distortion_of_latents(MsicModel &model, const std::vector<torch::Tensor> &latents,
                                          const torch::Tensor &x, int anchor, double lambda, RateMode mode,
                                          double temperature = 0.5, bool context_gradients = true);

// The codec runs the context nets with int16 Q12 weights: keeps the float
// weights inside that range, or the two would part ways.
void clamp_context_weights_to_codec_range(MsicModel &model);

}  // namespace msic::net
