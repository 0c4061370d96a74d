// The MSINN network (network.h's LibTorch modules) on the engine's own
// kernels: no LibTorch, and the same bits on every machine. It reads the
// same model file; tests/core/engine_test.cpp holds it to the LibTorch
// modules.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "engine/kernels.h"
#include "model_file.h"

namespace msic::engine {

class NetworkEngine {
 public:
  explicit NetworkEngine(const ModelFile &model);  // throws Error

  // image: 3 channels in [-0.5, 0.5], sides multiples of tile_multiple().
  std::vector<Planes> analysis(Planes image) const;  // latents fine -> coarse
  Planes synthesis(std::vector<Planes> latents) const;
  // Adds the residual prediction to dequantized latents (coarse to fine);
  // gains: one per latent channel, all latents in order.
  void refine_latents(std::vector<Planes> &latents, const std::vector<float> &gains) const;
  // The same for latent l alone; the coarser latents must be refined.
  void refine_latent(std::vector<Planes> &latents, int l, const std::vector<float> &gains) const;
  // One level of the synthesis: level k's input from its latent and the
  // continued half (level k + 1's input; for the last level, the last
  // latent).
  Planes synthesis_level(int k, const Planes &latent, Planes continued) const;
  void postfilter(Planes &image) const;

  // The encoder's latent refinement (a top effort; decoders never run
  // this), in engine/synthesis_gradient.cpp. synthesis_for_gradient: the
  // image the decoder makes of `latents` (dequantized, before the residual
  // prediction: refine_latents, synthesis, postfilter), keeping in `tape`
  // what latent_gradient reads. latent_gradient: the gradient of
  // sum(image_gradient x image) with respect to each of those latents,
  // the vector-Jacobian product through the postfilter, the synthesis and
  // the residual prediction, in float (an integer convolution by its
  // steps scaled back to weights). The image is the engine's own, bit
  // for bit; the gradient is what LibTorch's autograd gives the twin,
  // within float rounding.
  // A unit's coupling net on its inverse's input y: h1 = relu(c1 y1),
  // h2 = h1 + relu(c2 h1), raw = c3 h2 (before log_s's clamp).
  struct CouplingActivations {
    Planes h1, h2, raw;
  };
  struct SynthesisTape {
    std::vector<Planes> predictor_inputs, predictions;  // per latent (none: empty)
    // [level][unit]: the second half of each inverse's input, its coupling net's activations
    std::vector<std::vector<Planes>> coupled_halves;
    std::vector<std::vector<CouplingActivations>> couplings;
    Planes postfilter_input;
    std::vector<float> gains;
  };
  Planes synthesis_for_gradient(std::vector<Planes> latents, const std::vector<float> &gains,
                                SynthesisTape &tape) const;
  std::vector<Planes> latent_gradient(const SynthesisTape &tape, Planes image_gradient) const;

 private:
  struct Unit {
    std::vector<float> scale, bias;            // ActNorm: exp(log_scale), bias
    std::vector<float> inv_scale;              // exp(-log_scale)
    Conv mix;                                  // 1x1, [C][C], no bias
    Conv c1, c2, c3;                           // coupling net
    float clamp = 0;
    Planes forward(Planes x) const;
    Planes inverse(Planes y, const Conv &inverse_mix) const;
    // inverse() keeping its coupling net's activations, which the
    // synthesis backwards reads (its whole tile at once, not in bands):
    // the same bits.
    Planes inverse_taped(Planes y, const Conv &inverse_mix, CouplingActivations &net) const;
    // The inverse's last steps on rows [r0, r1): x = (M^-1 y - bias) / scale.
    void unmix(const Planes &y, const Conv &inverse_mix, Planes &x, int r0, int r1) const;
    Planes coupling(const Planes &x) const;  // [log_s; t], from x's first half
    // Rows [r0, r1) of y's second half += the coupling (forward) or -= it
    // (inverse), in bands.
    void couple(Planes &y, bool inverse, int r0, int r1) const;
  };
  struct Predictor {
    bool present = false;
    Conv c1, c2;
  };
  // A unit's inverse (what synthesis runs) backwards: the gradient on its
  // input y from that on its output, given y's second half (y2) and the
  // coupling net's activations on y (the tape's).
  Planes unit_gradient(int level, int unit, const Planes &y2, const CouplingActivations &net, Planes gradient) const;
  // The transposed convolutions of the gradient (float weights), made on
  // latent_gradient's first call, as the mixes' inverses are.
  struct GradientNets {
    std::once_flag made;
    struct UnitNets {
      Conv c1, c2, c3, mix;  // mix: the inverse mix's transpose
    };
    std::vector<std::vector<UnitNets>> units;  // [level][unit]
    std::vector<Predictor> predictors;         // per latent
    Conv post1, post2;
  };
  const GradientNets &gradient_nets() const;
  // A residual predictor's input: the latent, then its context sources
  // (coarser latents, nearest-neighbour upsampled), in one set of planes.
  Planes predictor_input(const std::vector<Planes> &latents, int latent) const;

  // The mixes' inverses, [level][unit], which only synthesis reads: made
  // on its first call, so that an encoder does not invert them (a tenth of
  // an encoding process's start). The model's load checks that they exist.
  const std::vector<std::vector<Conv>> &inverse_mixes() const;

  ModelConfig config_;
  std::vector<std::vector<Unit>> levels_;
  struct InverseMixes {
    std::once_flag made;
    std::vector<std::vector<Conv>> mixes;
  };
  std::unique_ptr<InverseMixes> inverse_mixes_ = std::make_unique<InverseMixes>();
  std::unique_ptr<GradientNets> gradient_nets_ = std::make_unique<GradientNets>();
  std::vector<Predictor> lrp_;
  bool has_post_ = false;
  Conv post1_, post2_;
};

// The decoder's residual prediction and synthesis, run as the latents
// become known, coarsest first: a model with synthesis_context codes each
// latent with its continued half as context (ModelConfig), which the
// levels below must have made by then. Without it, finish() is
// refine_latents() then synthesis(). `latents` (refined in place, filled
// in by the time the first level runs) and `gains` must outlive it.
class IncrementalSynthesis {
 public:
  IncrementalSynthesis(const NetworkEngine &engine, const ModelConfig &config, std::vector<Planes> &latents,
                       const std::vector<float> &gains);
  // The continued half of `latent` (0 .. levels - 2): level latent + 1's
  // input, from the coarser latents, which must be final.
  const Planes &continued(int latent);
  // The image, from every latent (then spent); no post-filter.
  Planes finish();

 private:
  void run_level();  // the next level down
  const NetworkEngine &engine_;
  const ModelConfig &config_;
  std::vector<Planes> &latents_;
  const std::vector<float> &gains_;
  int refined_;  // latents from here on are refined
  int level_;    // x_ is this level's input (levels: none yet)
  Planes x_;
};

}  // namespace msic::engine
