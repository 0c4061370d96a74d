// The coding of a tile's latents, relaxed and in float, with its gradient:
// what the top effort's latent annealing (latent_annealing.h) minimises.
// The engine's twin of rate_model.cpp's kAnnealed mode, without LibTorch.
//
// As the codec codes them (entropy/coding_schedule.h): coarsest latent
// first, anchors then the rest, the context net of each pass (in float,
// with the integer nets' weights: ContextModel::float_net) gives every
// position's mean and log2 scale from the latents decoded before it. Each
// latent in steps, u, less its mean is relaxed by stochastic Gumbel
// annealing (Yang, Bamler, Mandt, NeurIPS 2020: the lower step plus a
// sigmoid that leans to the nearer step as the temperature falls) and
// decoded as (symbol + mean) / gain, as a decoder does; its bits are a
// discretized Gaussian's at the net's scale (clamped to the tables').
// So moving a latent moves the means and scales of every latent whose
// context sees it, and the decoded values of those; backward() follows
// all of it through the nets. The relaxation's and the bits' formulas are
// the engine's vector passes (engine/elementwise.h), in float.
//
// Two things are held constant, each for speed or simplicity:
//   - the causal anchors a first-pass anchor sees (causal_context) are
//     relaxed around the means of the forward before, not their own, so
//     that a pass runs as one batch (the codec decodes them one by one);
//   - the continued half (synthesis_context) is the one given, made from
//     the analysis's latents.
#pragma once
#include <array>
#include <vector>

#include "engine/kernels.h"
#include "engine/network_engine.h"
#include "entropy/context_model.h"
#include "planes.h"

namespace msic {

class RelaxedCoding {
 public:
  // For the analysis's latents of a tile, coded with the tile's gains (not
  // boosted), border boost, parts and rounding as effort 2 codes them
  // (ContextModel::symbol_models): the step gains there are kept
  // throughout, the means start the causal anchors', the continued halves
  // (made by `network`) are kept. share: the threads it may use.
  RelaxedCoding(const engine::NetworkEngine &network, const entropy::ContextModel &context,
                const std::vector<Planes> &latents, const entropy::QualityGains &gains,
                const entropy::BorderBoost &boost, int parts, entropy::Rounding rounding, const ThreadShare *share);

  // Per latent and position, the gain of its step (latent x gain = u).
  const std::vector<Planes> &step_gains() const { return step_gain_; }

  // What backward() reads of a forward.
  struct Tape {
    struct Pass {
      Planes hidden;               // the first layer's output (after ReLU)
      std::vector<Planes> middle;  // each residual layer's input to its ReLU
    };
    std::vector<std::array<Pass, 2>> passes;  // per latent and pass
    // Per latent, of its shape: the relaxed symbol's slope in u; its
    // bits' slopes in the symbol and in the log2 scale; the causal anchor
    // copies' slope in u (anchors only).
    std::vector<Planes> slope, bits_slope, scale_slope, anchor_slope;
    std::vector<Planes> anchor;  // the causal anchor copies (anchors only)
    double bits = 0;             // of all the relaxed symbols
  };
  // u: per latent (fine to coarse), the latents in steps; draws: of the
  // same shapes, each the difference of two Gumbel draws; temperature >
  // 0. Returns the decoded latents (what the synthesis is given).
  std::vector<Planes> forward(const std::vector<Planes> &u, const std::vector<Planes> &draws, double temperature,
                              Tape &tape);
  // The gradient on u of rate_weight x tape.bits + sum(decoded_gradient
  // x the decoded latents).
  std::vector<Planes> backward(const Tape &tape, std::vector<Planes> decoded_gradient, double rate_weight) const;

 private:
  struct Net {
    engine::Conv first[2], last, first_t[2], last_t;  // _t: transposed, for the gradient
    std::vector<engine::Conv> middle, middle_t;
  };
  // The inputs of pass `pass` of latent l, at each of its positions n:
  // visit(input, n, from, index) for every input inside its latent
  // (the rest are 0), `from` saying what it reads: a coarser latent's
  // decoded value (latent `source`), the continued half, or the same
  // latent's anchors (decoded, or causal copies in the first pass).
  enum class From { kCoarser, kContinued, kAnchors };
  template <class Visit>
  void visit_inputs(int l, int pass, Visit visit) const;
  Planes run_net(int l, int pass, const Planes &in, Tape::Pass &tape) const;
  Planes net_gradient(int l, int pass, const Tape::Pass &tape, Planes out_gradient) const;

  const entropy::ContextModel &context_;
  std::vector<Net> nets_;
  std::vector<Planes> step_gain_, log2_offset_;  // per latent position
  std::vector<Planes> continued_;
  std::vector<Planes> anchor_mean_;  // the last forward's anchor means, in steps
  std::vector<std::array<std::vector<uint32_t>, 2>> positions_;  // per latent and pass: y * width + x
  std::vector<std::vector<int>> part_top_, part_bottom_;  // per latent and row: its part's rows
  double log2_scale_min_, log2_scale_max_;
};

}  // namespace msic
