// The multi-scale spatial-channel context model, in integers.
//
// Latents are coded coarsest first. For each latent, a small network maps
// (a) the already-decoded coarser latents at the same place (channel
// context) and (b), in the second pass of a checkerboard, the four decoded
// anchor neighbours (spatial context) to a mean and a log2 scale per channel:
// a first hidden layer, ModelConfig::context_depth - 1 residual ones, and
// the output layer.
// Models with causal_context also give the first pass (the anchors) the four
// anchors decoded before it in raster order, within its part of the rows
// (coding_schedule.h). Models with synthesis_context = N give the N
// coarsest latents that have a continued half that half too, as the
// decoder's synthesis makes it from the coarser latents (ContinuedHalf):
// the codec's network runs between latents.
// Gain vectors, interpolated between quality anchors, scale the latent before
// rounding, so one model covers every quality.
//
// All of it is integer arithmetic on integer symbols and weights quantized at
// load (int16 Q12 weights, int32 Q20 biases, int16 Q8 activations, int32
// accumulators that wrap, compiled with -fwrapv), so the CDF chosen for a
// symbol is the same on every machine and with every build.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "entropy/cdf_tables.h"
#include "entropy/dense_layer.h"
#include "entropy/rans.h"
#include "model_config.h"
#include "planes.h"

namespace msic {
struct ModelFile;
class ThreadShare;
}

namespace msic::entropy {

class RansEncoder;
class RansDecoder;

constexpr int kWeightBits = 12;
constexpr int kActBits = 8;

// Per latent channel, for one quality.
struct QualityGains {
  std::vector<int64_t> gain_q16;        // multiplies the latent before rounding
  std::vector<int64_t> inv_gain_q24;
  std::vector<int32_t> log2_gain_q16;   // added to the predicted log2 scale
  std::vector<float> gain;              // gain_q16 / 65536, for the float side
};

// A tile's border boost (MSIC.md, "Tile payload", version 4): on the
// sides where the tile meets another, each latent's outer ring is coded
// with `gains`, the tile's gains raised by the payload's boost (finer
// steps), so that the pixels next to a tile border, which see half the
// context, are not coded worse than the rest.
struct BorderBoost {
  const QualityGains *gains = nullptr;
  uint8_t sides = 0;  // format::TilePayloadHeader::kSide* bits; 0: none
};

// For a model with synthesis_context: the continued half of latent l
// (ModelConfig::synthesis_channels(l) channels of its size), made from the
// dequantized coarser latents that encode() or decode() has filled in by
// then (engine::IncrementalSynthesis). The context sees it in Q8, rounded
// to even and clamped to int16.
using ContinuedHalf = std::function<const Planes &(int latent)>;

// How the encoder picks each symbol's step: the nearest (lambda 0), or the
// one whose squared error (in steps) plus lambda times its bits is least.
// The quality gains put every channel's step where a bit buys about the
// same distortion, so one lambda serves every channel at a quality; the
// best one grows with the quality (for_quality, context_model.cpp).
struct Rounding {
  double lambda = 0;
  static Rounding nearest() { return {}; }
  static Rounding for_quality(uint32_t quality_centi);  // at the model's quality
};

class ContextModel {
 public:
  explicit ContextModel(const ModelFile &model);  // throws Error

  // extra_log2_q16 raises every log2 gain (a border boost: eighths << 13).
  QualityGains gains(uint32_t quality_centi, int32_t extra_log2_q16 = 0) const;
  const ModelConfig &config() const { return config_; }
  const CdfTables &tables() const { return tables_; }

  // Quantizes and codes the latents (fine to coarse in `latents`: the
  // analysis output) into parts.size() parts (coding_schedule.h; at most
  // kMaxCodingParts), each to the step `rounding` picks, in coding order,
  // but the nearest on the tile's border (the decoder is the same). If given,
  // `dequantized` receives what decode() will fill in, bit for bit.
  // share: threads it may use (parallel.h; none: this one alone); the
  // symbols do not depend on them. A model with synthesis_context needs
  // `continued`, and `dequantized` for it to read.
  void encode(const std::vector<Planes> &latents, const QualityGains &g,
              std::vector<RansEncoder> &parts, Rounding rounding = Rounding::nearest(),
              std::vector<Planes> *dequantized = nullptr, const ThreadShare *share = nullptr,
              const BorderBoost &boost = {}, const ContinuedHalf &continued = {}) const;
  // Decodes latents of the given shapes from parts.size() parts; fills
  // their values with the dequantized latents, (s + mean) / gain.
  void decode(std::vector<Planes> &latents, const QualityGains &g,
              std::vector<RansDecoder> &parts, const ThreadShare *share = nullptr,
              const BorderBoost &boost = {}, const ContinuedHalf &continued = {}) const;

  // For the encoder's top effort (latent refinement): what encode() with
  // these arguments and `parts` parts would code each latent with, without
  // coding: per latent, planes of its shape with the mean (in steps of the
  // gained latent), the scale of its table (the Gaussian's, in steps) and
  // the gain of its step (the tile's, or the border boost's). The relaxed
  // coding (relaxed_coding.h) keeps the gains and starts from the means.
  struct SymbolModels {
    std::vector<Planes> mean, scale, gain;
  };
  SymbolModels symbol_models(const std::vector<Planes> &latents, const QualityGains &g, int parts,
                             Rounding rounding = Rounding::nearest(), std::vector<Planes> *dequantized = nullptr,
                             const ThreadShare *share = nullptr, const BorderBoost &boost = {},
                             const ContinuedHalf &continued = {}) const;

  // Latent l's context net in float, as its integers apply it (weights
  // their Q12 steps / 2^12, biases their Q20 steps / 2^20; weights [out]
  // [in]): first[pass] sees the inputs code() gives that pass
  // (coding_schedule.h), last gives the means, then the log2 scales. For
  // the float twin on relaxed latents (relaxed_coding.h).
  struct FloatLayer {
    int inputs = 0, outputs = 0;
    std::vector<float> weights, bias;
  };
  struct FloatNet {
    FloatLayer first[2], last;
    std::vector<FloatLayer> middle;  // residual: h = h + ReLU(W h + b)
  };
  FloatNet float_net(int latent) const;

  // Name of tensor `part` of latent l's context net in the model file.
  static std::string tensor_name(int latent, const char *part);

 private:
  struct Net {
    int ctx_in = 0, spatial_in = 0, hidden = 0, out = 0;
    // First layer per pass: pass 0 sees the channel context (and the causal
    // anchors), pass 1 also the spatial context; then the residual hidden
    // layers (ModelConfig::context_depth - 1), then the output layer.
    DenseLayer first[2], last;
    std::vector<DenseLayer> middle;
  };
  // A part's working arrays for a batch of up to kBatch positions (the
  // nets' inputs, hidden layer and outputs; each symbol's mean, table and
  // value), for the largest net, in one buffer with a cache line to spare
  // at each end: what one thread writes at every position shares no line
  // with what another reads. (With one heap arena, as the msic command
  // has, two parts' small buffers lay side by side, and a tile's context
  // model ran slower on two cores than on one.)
  static constexpr int kBatch = 16;
  struct Scratch {
    explicit Scratch(const std::vector<Net> &nets);
    std::vector<int64_t> buffer;
    size_t in_stride, hidden_stride, pre_stride, out_stride;  // per position, in elements
    int16_t *in, *hidden;
    int32_t *pre, *out, *table, *symbol;
    int64_t *mean;  // gained, Q8
  };
  // What code_rows() reads of one latent: its net, gains, shape, the
  // decoded values of it and of the coarser latents its context sees
  // (ModelConfig::context_sources: two at most; then its continued half,
  // with synthesis_context), where the dequantized latent goes (none:
  // nowhere), and a part's Scratch.
  struct ContextSource {
    const int16_t *known;
    int shift, height, width, channels;
    int reach;  // 0: the value at (y >> shift, x >> shift); else the square around (y, x)
  };
  struct LatentRows {
    const Net *net;
    const QualityGains *gains;
    BorderBoost boost;
    int latent, channels, height, width, gain_offset, sources;
    int16_t *known;
    float *values;
    ContextSource source[3];
    const Scratch *scratch;
  };
  void prepare_batch(const LatentRows &a, int pass, int y, int x0, int count, int top, int bottom) const;
  void settle_batch(const LatentRows &a, int y, int x0, int count) const;
  template <class Coder, class Step>
  void code_rows(const LatentRows &a, int pass, int y0, int y1, int top, int bottom, Coder &to, Step &step) const;
  void decode_row_pairs(const LatentRows &a, const LatentRows &b, int pass, const int (&rows_a)[2],
                        const int (&rows_b)[2], bool own_rows, RansDecoder &from_a, RansDecoder &from_b) const;
  // The gains at (y, x) of a latent: the boost's on its ring's boosted sides.
  static const QualityGains &gains_at(const LatentRows &a, int y, int x);
  // The symbol encode() codes for v (a latent gained, less its mean, in
  // steps) under table `table` (Rounding; coding_cost: rate rounding's).
  int32_t choose_symbol(double v, bool ring, int table, Rounding rounding, const CodingCost *coding_cost) const;
  const CodingCost *rate_costs(Rounding rounding) const;  // none for the nearest
  template <class Coder, class Step>
  void code(const std::vector<Planes> &latents, const QualityGains &g, const BorderBoost &boost,
            std::vector<Coder> &coders, Step step, std::vector<Planes> *values, const ThreadShare *share,
            const ContinuedHalf &continued) const;

  ModelConfig config_;
  CdfTables tables_;
  // The bits of each table symbol for rate rounding, made by the first
  // encode that rounds for rate (0.5 ms: once per model, not per tile);
  // shared by copies, whose tables are the same.
  struct RateCosts {
    std::once_flag once;
    std::optional<CodingCost> cost;
  };
  std::shared_ptr<RateCosts> rate_costs_ = std::make_shared<RateCosts>();
  std::vector<Net> nets_;
  std::vector<int32_t> log2_gain_q16_;        // anchors x total channels
  std::vector<int32_t> log2_scale_gain_q16_;  // anchors x total channels
  std::vector<int> channel_offset_;           // first gain index of each latent
};

}  // namespace msic::entropy
