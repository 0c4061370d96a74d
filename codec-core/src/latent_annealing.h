// The top effort's latent refinement on the engine: the analysis's latents
// moved, before coding, by stochastic Gumbel annealing (Yang, Bamler,
// Mandt, "Improving Inference for Neural Image Compression", NeurIPS 2020)
// so that coding them costs less for the same error. The decoder is
// unchanged: any decoder reads the files.
//
// Each step draws fresh Gumbel noise; RelaxedCoding (relaxed_coding.h)
// relaxes the latents through the context nets, coarsest first, giving
// the decoded latents and their bits; the loss is those bits plus lambda
// x 255^2 x the decoded image's MSE, whose gradient comes from the
// engine's synthesis backwards (NetworkEngine::latent_gradient), and
// through the context nets from RelaxedCoding::backward; Adam moves the
// latents, in steps. latent_refinement.h is the same on LibTorch's twin.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/network_engine.h"
#include "relaxed_coding.h"

namespace msic {

struct AnnealingSettings {
  int steps = 300;  // effort 4's (annealing_settings)
  // Adam's, in steps: falls geometrically from the first to the last.
  double learning_rate = 0.02, final_learning_rate = 0.002;
  double start_temperature = 0.5, end_temperature = 0.05;  // falls geometrically
  // Of the Gumbel draws (a hash of seed, step, latent and position, not a
  // library's generator): the same tile gives the same file with the same
  // build and maths library, on any number of threads (the decoder does
  // not depend on it).
  uint32_t seed = 1;
};

// Effort 4's and 5's: 300 and 1000 steps, the rest as above. The gain
// grows with the steps, and the time with them (bench/README.md, "Effort
// 5": on six Kodak crops, BD-rate against effort 2 with a constant
// learning rate of 0.01: -8.31% at 300 steps, -9.62% at 600, -10.34% at
// 1000; falling from 0.02 to 0.002: -8.38% at 300, -9.86% at 600).
AnnealingSettings annealing_settings(int effort);

// The rate-distortion weight of a model quality (0..10000), as the models
// were trained: geometric from 0.0004 at quality 0 to 1.2 at 10000
// (msinn-small-v4 to v6, tools/train/README.md).
double annealing_lambda(uint32_t quality_centi);

// coding: the tile's relaxed coding (its step gains say what the latents
// are in steps); latents: the analysis's of image x (3 planes in [-0.5,
// 0.5], the coded size); the loss counts the pixels of the top-left
// real_width x real_height (the rest is padding), for grey the error of
// the three planes' mean (what a decoder makes of them); gains: the
// tile's, per latent channel (the residual prediction's). Returns the
// moved latents, to be coded as the analysis's are
// (TileCodec::encode_latents). Runs the engine on the threads of the
// ThreadsScope it is called in.
std::vector<Planes> anneal_latents(const engine::NetworkEngine &network, RelaxedCoding &coding,
                                   std::vector<Planes> latents, const Planes &x, int real_width, int real_height,
                                   bool grey, const std::vector<float> &gains, double lambda,
                                   const AnnealingSettings &settings);

}  // namespace msic
