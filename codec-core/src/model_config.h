// Widths and depths of the network: a property of the model file, not of the
// code, so faster or stronger models need no new build.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace msic {

struct ModelConfig {
  std::string name = "msinn-small";
  int levels = 4;                          // squeeze + units + split, each
  std::vector<int> units = {1, 1, 2, 2};   // invertible units per level
  std::vector<int> coupling_width = {16, 32, 48, 64};  // hidden width per level
  float coupling_clamp = 2.0f;             // |log scale| bound of the couplings
  // Per latent, fine to coarse (levels + 1 latents):
  std::vector<int> context_width = {16, 24, 32, 48, 48};
  // Hidden layers of each context net: the first, then context_depth - 1
  // residual ones (h = h + ReLU(W h + b)), all context_width wide.
  int context_depth = 1;
  std::vector<int> lrp_width = {0, 16, 24, 32, 32};  // 0: no residual prediction
  int postfilter_width = 0;                // 0: no post-filter
  // 1: an anchor (first checkerboard pass) also sees the four anchors of its
  // latent decoded before it in raster order, (y-2,x) (y-1,x-1) (y-1,x+1)
  // (y,x-2); without it the coarsest latent's anchors have no context at all.
  int causal_context = 0;
  // N > 0: the N coarsest latents that have a continued half (latents
  // levels-1-N .. levels-2) also see that half around their position as the
  // decoder reconstructs it from the coarser latents (the synthesis one
  // level down, at the latent's own resolution, where the coarser latents
  // alone are 2x2 blocks; the neighbourhood: entropy/coding_schedule.h).
  // The encoder then runs those levels' synthesis too.
  int synthesis_context = 0;
  // 1: the 3x3 convolutions whose model file gives an input step
  // ("<weights>.input_shift") run in integers (engine/kernels.h, MSIC.md),
  // the same arithmetic on every machine; the others in float.
  int integer_convolutions = 0;
  int anchors = 8;                         // quality anchors, spread over [0, 100]
  // CDF table grid: scale_i = scale_min * 2^(i / steps_per_octave)
  float scale_min = 0.11f;
  int scale_steps_per_octave = 8;
  int scale_count = 80;
  float table_tail = 6.0f;                 // table covers +-tail * scale

  std::string to_text() const;
  static ModelConfig from_text(const std::string &text);  // throws Error
  void validate() const;                                   // throws Error

  // Derived geometry (3 input channels).
  int latent_count() const { return levels + 1; }
  int level_channels(int level) const;      // channels inside level (after squeeze)
  int latent_channels(int latent) const;    // fine (0) to coarse
  int latent_shift(int latent) const;       // resolution = image >> shift
  int total_latent_channels() const;
  // Index of latent l's first channel among all latents' (gains' order).
  int first_channel(int latent) const;
  int tile_multiple() const { return 1 << levels; }
  // Latents whose decoded values form the channel context of `latent`.
  std::vector<int> context_sources(int latent) const;
  int context_channels(int latent) const;
  // Channels of the continued half the context net of `latent` also sees
  // (synthesis_context; 0 without): as many as the latent's.
  int synthesis_channels(int latent) const;
  // The context net's channel inputs: the context latents', then the
  // synthesis's at each position of its neighbourhood.
  int context_net_inputs(int latent) const;

  // Multiply-accumulates per image pixel (convolutions and 1x1 mixes).
  double transform_macs_per_pixel() const;
  double context_macs_per_pixel() const;
  double lrp_macs_per_pixel() const;
  double postfilter_macs_per_pixel() const;
};

}  // namespace msic
