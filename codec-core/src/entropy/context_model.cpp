#include "entropy/context_model.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "entropy/coding_schedule.h"
#include "entropy/rans.h"
#include "errors.h"
#include "fixed_point.h"
#include "model_file.h"
#include "parallel.h"
#include "round_even.h"


namespace msic::entropy {
namespace {

std::vector<int32_t> quantize_all(const NamedTensor &t, int bits, int64_t expect, int32_t limit) {
  if (t.type != NamedTensor::Type::F32 || t.numel() != expect)
    throw Error(MSIC_ERR_MODEL, "model tensor has the wrong size for the context model");
  std::vector<int32_t> q(t.f32.size());
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::clamp(fixed::quantize(t.f32[i], bits), -limit, limit);
  return q;
}
constexpr int32_t kInt16Limit = 32767, kBiasLimit = 1 << 30;
// The fewest symbols of a pass worth splitting among threads: waking one
// costs about as much as coding 4,000 symbols.
constexpr size_t kSymbolsPerPart = 16384;

inline int16_t clamp16(int32_t v) { return int16_t(std::clamp(v, -kInt16Limit, kInt16Limit)); }

// The decoder's float latent for symbol s: (s + mean) / gain.
inline float dequantize(int32_t s, int64_t mean_q8, float gain) {
  return float((double(s) + double(mean_q8) / 256.0) / gain);
}
}  // namespace


std::string ContextModel::tensor_name(int latent, const char *part) {
  return "context." + std::to_string(latent) + "." + part;
}

ContextModel::ContextModel(const ModelFile &model)
    : config_(model.config), tables_(CdfTables::from_model(model)) {
  int total = config_.total_latent_channels();
  for (int l = 0, off = 0; l < config_.latent_count(); ++l) {
    channel_offset_.push_back(off);
    off += config_.latent_channels(l);
    Net n;
    int c = config_.latent_channels(l);
    n.ctx_in = config_.context_channels(l);
    n.spatial_in = kSpatialNeighbours * c;
    n.hidden = config_.context_width[l];
    n.out = 2 * c;
    auto wc = quantize_all(model.get(tensor_name(l, "wc")), kWeightBits, int64_t(n.hidden) * n.ctx_in, kInt16Limit);
    auto ws = quantize_all(model.get(tensor_name(l, "ws")), kWeightBits, int64_t(n.hidden) * n.spatial_in, kInt16Limit);
    auto wo = quantize_all(model.get(tensor_name(l, "wo")), kWeightBits, int64_t(n.out) * n.hidden, kInt16Limit);
    auto b1 = quantize_all(model.get(tensor_name(l, "b1")), 20, n.hidden, kBiasLimit);
    auto b2 = quantize_all(model.get(tensor_name(l, "b2")), 20, n.hidden, kBiasLimit);
    auto bo = quantize_all(model.get(tensor_name(l, "bo")), 20, n.out, kBiasLimit);
    std::vector<int32_t> wa;
    if (config_.causal_context)
      wa = quantize_all(model.get(tensor_name(l, "wa")), kWeightBits, int64_t(n.hidden) * n.spatial_in, kInt16Limit);
    // Pass 0: channel context, then the causal anchors (if any); pass 1:
    // channel context, then the four anchor neighbours, and its bias adds b2.
    const std::vector<int32_t> *spatial[2] = {config_.causal_context ? &wa : nullptr, &ws};
    for (int pass = 0; pass < kCodingPasses; ++pass) {
      const std::vector<int32_t> *sp = spatial[pass];
      n.first[pass] = DenseLayer(
          n.ctx_in + (sp ? n.spatial_in : 0), n.hidden,
          [&](int h, int i) {
            return i < n.ctx_in ? wc[size_t(h) * n.ctx_in + i] : (*sp)[size_t(h) * n.spatial_in + i - n.ctx_in];
          },
          [&](int h) {
            return pass == 1 ? int32_t(std::clamp<int64_t>(int64_t(b1[h]) + b2[h], -kBiasLimit, kBiasLimit)) : b1[h];
          });
    }
    n.last = DenseLayer(
        n.hidden, n.out, [&](int o, int h) { return wo[size_t(o) * n.hidden + h]; }, [&](int o) { return bo[o]; });
    nets_.push_back(std::move(n));
  }
  int64_t gsize = int64_t(config_.anchors) * total;
  log2_gain_q16_ = quantize_all(model.get("gain.log2"), 16, gsize, 20 << 16);
  log2_scale_gain_q16_ = quantize_all(model.get("gain.log2_scale"), 16, gsize, 20 << 16);
}

QualityGains ContextModel::gains(uint32_t quality_centi) const {
  // Anchor a sits at quality a * 10000 / (anchors - 1); interpolate log2
  // gains linearly between the two around the quality (Q16 fraction).
  int total = config_.total_latent_channels();
  int64_t span = config_.anchors - 1;
  int64_t pos = int64_t(std::min<uint32_t>(quality_centi, 10000)) * span;  // / 10000
  int a = int(std::min<int64_t>(pos / 10000, span - 1));
  int64_t t_q16 = ((pos - int64_t(a) * 10000) << 16) / 10000;
  QualityGains g;
  for (int c = 0; c < total; ++c) {
    auto lerp = [&](const std::vector<int32_t> &v) {
      int64_t lo = v[size_t(a) * total + c], hi = v[size_t(a + 1) * total + c];
      return int32_t(lo + fixed::shift_round((hi - lo) * t_q16, 16));
    };
    int32_t lg = std::clamp(lerp(log2_gain_q16_), -20 << 16, 20 << 16);
    int32_t ls = std::clamp(lerp(log2_scale_gain_q16_), -20 << 16, 20 << 16);
    g.gain_q16.push_back(fixed::exp2_q16(lg, 16));
    g.inv_gain_q24.push_back(fixed::exp2_q16(-lg, 24));
    g.log2_gain_q16.push_back(lg + ls);
    g.gain.push_back(float(double(g.gain_q16.back()) / 65536.0));
  }
  return g;
}

// The one coding loop of encoder and decoder: they differ only in `step`,
// which turns (its coder, latent, channel, position, whether it lies on the
// latent's outer ring, mean, table) into a symbol.
//
// The encoder's coder only queues symbols, so a pass whose contexts read
// nothing of the same pass (the second pass always, the first without
// causal context) may run on the threads of `share` in parts of its rows,
// each queueing into a coder of its own, appended in order: the same
// symbols in the same order, the same bytes. (The decoder reads one
// stream in order; splitting its nets from its symbols was slower, see
// models/README.md.)
template <class Coder, class Step>
void ContextModel::code(const std::vector<Planes> &latents, const QualityGains &g, Coder &coder, Step step,
                        const ThreadShare *share) const {
  const int L = config_.latent_count();
  if (int(latents.size()) != L) throw Error(MSIC_ERR_INTERNAL, "wrong number of latents");
  // Dequantized values in Q8, channels last: the integer image of what the
  // decoder knows so far.
  std::vector<PooledVector<int16_t>> known(L);
  struct Scratch {
    std::vector<int16_t> in, hidden;
    std::vector<int32_t> pre, out;
  };
  Scratch mine;
  for (int l = L - 1; l >= 0; --l) {
    const Planes &p = latents[l];
    const Net &n = nets_[l];
    const int C = p.channels, H = p.height, W = p.width;
    const int goff = channel_offset_[l];
    known[l].assign(size_t(C) * H * W, 0);
    const std::vector<int> sources = config_.context_sources(l);
    auto ready = [&](Scratch &s) {
      s.in.assign(2 * std::max(n.first[0].pairs, n.first[1].pairs), 0);
      s.hidden.assign(2 * n.last.pairs, 0);
      s.pre.resize(n.first[0].lanes);
      s.out.resize(n.last.lanes);
    };
    // Rows [y0, y1) of one pass.
    auto rows = [&](int pass, int y0, int y1, Scratch &s, auto &to) {
      const DenseLayer &first = n.first[pass];
      for (int y = y0; y < y1; ++y) {
        for (int x = coding_pass(y, 0) == pass ? 0 : 1; x < W; x += 2) {
          // Channel context: coarser latents at this place.
          int16_t *dst = s.in.data();
          for (int src : sources) {
            const Planes &sp = latents[src];
            int sh = config_.latent_shift(src) - config_.latent_shift(l);
            int sy = std::min(y >> sh, sp.height - 1), sx = std::min(x >> sh, sp.width - 1);
            const int16_t *from = known[src].data() + (size_t(sy) * sp.width + sx) * sp.channels;
            std::copy(from, from + sp.channels, dst);
            dst += sp.channels;
          }
          // Spatial context (coding_schedule.h).
          if (pass_has_spatial_context(pass, config_.causal_context)) {
            for (const NeighbourOffset &d : kSpatialContext[pass]) {
              const int yy = y + d.dy, xx = x + d.dx;
              if (yy >= 0 && yy < H && xx >= 0 && xx < W) {
                const int16_t *from = known[l].data() + (size_t(yy) * W + xx) * C;
                std::copy(from, from + C, dst);
              } else {
                std::fill(dst, dst + C, int16_t(0));
              }
              dst += C;
            }
          }
          first.apply(s.in.data(), s.pre.data());
          for (int h = 0; h < n.hidden; ++h) s.hidden[h] = s.pre[h] > 0 ? clamp16(s.pre[h] >> kWeightBits) : 0;
          n.last.apply(s.hidden.data(), s.out.data());
          int16_t *here = known[l].data() + (size_t(y) * W + x) * C;
          const bool ring = y == 0 || x == 0 || y + 1 == H || x + 1 == W;
          for (int c = 0; c < C; ++c) {
            int64_t mean_q8 = s.out[c] >> (20 - kActBits);
            int64_t mean_gained_q8 = fixed::shift_round(mean_q8 * g.gain_q16[goff + c], 16);
            int64_t log2_scale_q16 = (s.out[C + c] >> 4) + g.log2_gain_q16[goff + c];
            int table = tables_.table_for_log2_scale(log2_scale_q16);
            size_t at = (size_t(c) * H + y) * W + x;
            int32_t sym = step(to, l, goff + c, at, ring, mean_gained_q8, table);
            int64_t gained_q8 = (int64_t(sym) << kActBits) + mean_gained_q8;
            here[c] = int16_t(std::clamp<int64_t>(fixed::shift_round(gained_q8 * g.inv_gain_q24[goff + c], 24),
                                                  -kInt16Limit, kInt16Limit));
          }
        }
      }
    };
    ready(mine);
    for (int pass = 0; pass < kCodingPasses; ++pass) {
      int parts = 1;
      if constexpr (std::is_same_v<Coder, RansEncoder>) {
        const size_t symbols = size_t(H) * size_t((W + 1) / 2) * C;
        if (share && !pass_reads_itself(pass, config_.causal_context))
          parts = int(std::min<size_t>({size_t(share->for_one_item()), size_t(H), symbols / kSymbolsPerPart}));
        if (parts > 1) {
          std::vector<RansEncoder> queues(static_cast<size_t>(parts));
          parallel_for(size_t(parts), parts, [&](size_t part) {
            Scratch s;
            ready(s);
            rows(pass, int(part * size_t(H) / size_t(parts)), int((part + 1) * size_t(H) / size_t(parts)), s,
                 queues[part]);
          });
          for (RansEncoder &q : queues) coder.append(q);
        }
      }
      if (parts <= 1) rows(pass, 0, H, mine, coder);
    }
  }
}

void ContextModel::encode(const std::vector<Planes> &latents, const QualityGains &g, RansEncoder &coder,
                          Rounding rounding, std::vector<Planes> *dequantized, const ThreadShare *share) const {
  const bool rd = rounding == Rounding::kRateDistortion;
  const CodingCost coding_cost;
  if (dequantized) {
    dequantized->clear();
    for (const Planes &p : latents) dequantized->emplace_back(p.channels, p.height, p.width);
  }
  auto step = [&](RansEncoder &to, int l, int gc, size_t at, bool ring, int64_t mean_q8, int table) {
    double v = double(latents[l].values[at]) * g.gain[gc] - double(mean_q8) / 256.0;
    v = std::clamp(v, -2.0e9, 2.0e9);  // (NaN stays NaN and becomes 0 below)
    const double nearest = round_even(v);
    int32_t s = nearest == nearest ? int32_t(nearest) : 0;
    // The tile's outer ring of each latent keeps the nearest step: pixels
    // at a tile border have half the context, and trading their accuracy
    // for bits made the seams worse (bench/seams.py, 128-px tiles: border
    // / interior MSE 1.31-1.45 with the ring rounded for rate, 1.19-1.30
    // without it, 1.25-1.31 leaving two rings. Kodak BD-rate against AVIF:
    // +25.5% in PSNR either way, +17.7% in MS-SSIM against +17.1%).
    if (rd && !ring) {
      // Of s, its other neighbour and 0, the least squared error (in
      // steps) plus lambda times the bits. Greedy: a choice changes the
      // contexts of what follows, which it does not look at.
      const int32_t other = v >= double(s) ? s + 1 : s - 1;
      auto cost = [&](int32_t c) {
        return (v - c) * (v - c) + kRateDistortionLambda * coding_cost.bits(tables_, table, c);
      };
      double best = cost(s);
      for (int32_t c : {other, int32_t(0)}) {
        if (c == s) continue;
        const double j = cost(c);
        if (j < best) best = j, s = c;
      }
    }
    to.put(tables_, table, s);
    if (dequantized) (*dequantized)[l].values[at] = dequantize(s, mean_q8, g.gain[gc]);
    return s;
  };
  code(latents, g, coder, step, share);
}

void ContextModel::decode(std::vector<Planes> &latents, const QualityGains &g,
                          RansDecoder &coder) const {
  for (auto &p : latents) p.values.assign(size_t(p.channels) * p.height * p.width, 0.f);
  auto step = [&](RansDecoder &from, int l, int gc, size_t at, bool, int64_t mean_q8, int table) {
    int32_t s = from.get(tables_, table);
    latents[l].values[at] = dequantize(s, mean_q8, g.gain[gc]);
    return s;
  };
  code(latents, g, coder, step, nullptr);
}

}  // namespace msic::entropy
