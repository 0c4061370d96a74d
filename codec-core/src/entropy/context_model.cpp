#include "entropy/context_model.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <optional>
#include <type_traits>

#include "entropy/coding_schedule.h"
#include "entropy/rans.h"
#include "errors.h"
#include "fixed_point.h"
#include "model_file.h"
#include "parallel.h"
#include "round_even.h"
#include "tile_payload.h"


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

// A float context input (the continued half) in Q8: rounded to even,
// clamped to int16; NaN gives 0.
inline int16_t to_q8(float v) {
  const double q = std::clamp(double(v) * 256.0, -double(kInt16Limit), double(kInt16Limit));
  return q == q ? int16_t(round_even(q)) : 0;
}

// The decoder's float latent for symbol s: (s + mean) / gain.
inline float dequantize(int32_t s, int64_t mean_q8, float gain) {
  return float((double(s) + double(mean_q8) / 256.0) / gain);
}
}  // namespace


// Measured on Kodak (every second image, msinn-small-v4-int, effort 2),
// as the change in bits at equal PSNR against lambda 0.04 at user Q 0,
// 12.5, 25, ..., 100 (model quality 0, 19, 36, 43, 47, 52, 58, 68, 100):
//   0.015  -0.46 -0.49 -0.03 +0.29 +0.48 +0.58 +0.64 +1.18    -  %
//   0.025  -0.63 -0.63 -0.36 -0.11 +0.03 +0.10 +0.14 +0.40    -
//   0.06     -   +1.71 +1.24 +0.78 +0.78 +0.61 +0.41 +0.08 -0.61
//   0.09     -   +5.29 +4.02 +2.97 +2.58 +2.28 +1.80 +1.00 -0.73
//   0.12     -   +9.32 +7.15 +5.56 +4.82 +4.39 +3.62 +2.37 -0.33
// (one lambda for all: 0.04 was best, BD-rate +0.05% at 0.025, +0.62% at
// 0.06). Low qualities, where most symbols are 0, want a smaller lambda;
// the top quality, nearer the high-rate regime, a larger one. The rise
// starts at model quality 80 (user Q 95 was 79.1 then; the quality scale,
// calibrated with this rule, now puts it at 80.3).
// Against 0.04 for all: Kodak -0.23%, the second set -0.82% BD-rate
// (models/README.md, "Encoder effort").
Rounding Rounding::for_quality(uint32_t quality_centi) {
  struct Point {
    double quality_centi, lambda;
  };
  static constexpr Point kLambda[] = {{0, 0.025}, {3600, 0.025}, {4500, 0.04}, {8000, 0.04}, {10000, 0.09}};
  const double q = std::min<uint32_t>(quality_centi, 10000);
  size_t i = 1;
  while (i + 1 < std::size(kLambda) && kLambda[i].quality_centi < q) ++i;
  const Point &lo = kLambda[i - 1], &hi = kLambda[i];
  const double t = std::clamp((q - lo.quality_centi) / (hi.quality_centi - lo.quality_centi), 0.0, 1.0);
  return {lo.lambda + t * (hi.lambda - lo.lambda)};
}

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
    n.ctx_in = config_.context_net_inputs(l);
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
    for (int k = 1; k < config_.context_depth; ++k) {
      const std::string index = std::to_string(k);
      auto wm = quantize_all(model.get(tensor_name(l, ("wm" + index).c_str())), kWeightBits, int64_t(n.hidden) * n.hidden,
                             kInt16Limit);
      auto bm = quantize_all(model.get(tensor_name(l, ("bm" + index).c_str())), 20, n.hidden, kBiasLimit);
      n.middle.emplace_back(
          n.hidden, n.hidden, [&](int o, int i) { return wm[size_t(o) * n.hidden + i]; }, [&](int o) { return bm[o]; });
    }
    n.last = DenseLayer(
        n.hidden, n.out, [&](int o, int h) { return wo[size_t(o) * n.hidden + h]; }, [&](int o) { return bo[o]; });
    nets_.push_back(std::move(n));
  }
  int64_t gsize = int64_t(config_.anchors) * total;
  log2_gain_q16_ = quantize_all(model.get("gain.log2"), 16, gsize, 20 << 16);
  log2_scale_gain_q16_ = quantize_all(model.get("gain.log2_scale"), 16, gsize, 20 << 16);
}

ContextModel::FloatNet ContextModel::float_net(int latent) const {
  // The integers floor each activation and mean to Q8 (>> 12): half a Q8
  // step less on average, which the float biases take (the last layer's
  // on the means; the log2 scales' floor is in Q16). Without it the float
  // means were 1-3 Q8 steps above the coder's.
  constexpr double kFloor = 0.5 / (1 << kActBits);
  auto layer = [](const DenseLayer &d, int floored) {
    FloatLayer f;
    f.inputs = d.inputs, f.outputs = d.outputs;
    f.weights.resize(size_t(d.inputs) * d.outputs);
    f.bias.resize(size_t(d.outputs));
    for (int o = 0; o < d.outputs; ++o) {
      f.bias[size_t(o)] = float(std::ldexp(double(d.b[size_t(o)]), -20) - (o < floored ? kFloor : 0.0));
      for (int i = 0; i < d.inputs; ++i)
        f.weights[size_t(o) * d.inputs + i] =
            float(std::ldexp(double(d.w[(size_t(i / 2) * d.lanes + o) * 2 + i % 2]), -kWeightBits));
    }
    return f;
  };
  const Net &n = nets_.at(size_t(latent));
  FloatNet f;
  for (int pass = 0; pass < kCodingPasses; ++pass) f.first[pass] = layer(n.first[pass], n.hidden);
  for (const DenseLayer &m : n.middle) f.middle.push_back(layer(m, n.hidden));
  f.last = layer(n.last, n.out / 2);
  return f;
}

QualityGains ContextModel::gains(uint32_t quality_centi, int32_t extra_log2_q16) const {
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
    int32_t lg = std::clamp(lerp(log2_gain_q16_) + extra_log2_q16, -20 << 16, 20 << 16);
    int32_t ls = std::clamp(lerp(log2_scale_gain_q16_), -20 << 16, 20 << 16);
    g.gain_q16.push_back(fixed::exp2_q16(lg, 16));
    g.inv_gain_q24.push_back(fixed::exp2_q16(-lg, 24));
    g.log2_gain_q16.push_back(lg + ls);
    g.gain.push_back(float(double(g.gain_q16.back()) / 65536.0));
  }
  return g;
}

ContextModel::Scratch::Scratch(const std::vector<Net> &nets) {
  // Per position, in bytes rounded up to a cache line.
  auto line = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
  size_t in_bytes = 0, hidden_bytes = 0, pre_bytes = 0, out_bytes = 0, channels = 0;
  for (const Net &n : nets) {
    in_bytes = std::max(in_bytes, line(sizeof(int16_t) * 2 * size_t(std::max(n.first[0].pairs, n.first[1].pairs))));
    hidden_bytes = std::max(hidden_bytes, line(sizeof(int16_t) * 2 * size_t(n.last.pairs)));
    pre_bytes = std::max(pre_bytes, line(sizeof(int32_t) * size_t(n.first[0].lanes)));
    out_bytes = std::max(out_bytes, line(sizeof(int32_t) * size_t(n.last.lanes)));
    channels = std::max(channels, size_t(n.out / 2));
  }
  const size_t symbols = size_t(kBatch) * channels;
  const size_t sizes[] = {kBatch * in_bytes, kBatch * hidden_bytes, kBatch * pre_bytes, kBatch * out_bytes,
                          line(sizeof(int32_t) * symbols), line(sizeof(int32_t) * symbols),
                          line(sizeof(int64_t) * symbols)};
  size_t total = 64;
  for (size_t v : sizes) total += v;
  buffer.assign((total + 64) / sizeof(int64_t), 0);
  char *at = reinterpret_cast<char *>(buffer.data()) + 64;
  // (The vector's storage is 16-byte aligned; the strides keep every
  // position's row at the same offset within its line.)
  auto take = [&](size_t bytes) {
    char *p = at;
    at += bytes;
    return p;
  };
  in = reinterpret_cast<int16_t *>(take(sizes[0]));
  hidden = reinterpret_cast<int16_t *>(take(sizes[1]));
  pre = reinterpret_cast<int32_t *>(take(sizes[2]));
  out = reinterpret_cast<int32_t *>(take(sizes[3]));
  table = reinterpret_cast<int32_t *>(take(sizes[4]));
  symbol = reinterpret_cast<int32_t *>(take(sizes[5]));
  mean = reinterpret_cast<int64_t *>(take(sizes[6]));
  in_stride = in_bytes / sizeof(int16_t), hidden_stride = hidden_bytes / sizeof(int16_t);
  pre_stride = pre_bytes / sizeof(int32_t), out_stride = out_bytes / sizeof(int32_t);
}

// A batch of positions (y, x0 + 2k), k < count, of one pass of a latent,
// none reading another's symbols, whose spatial context sees rows [top,
// bottom): their nets' inputs, both layers for all of them at once, then
// every symbol's mean and table (into the scratch's `mean` and `table`, k
// * C + c). Functions of their own, whose inputs are copied into locals
// first: as a lambda the loop reread what it captured after every call
// out (the nets' layers), and the context model took up to a fifth longer.
__attribute__((always_inline)) inline void ContextModel::prepare_batch(const LatentRows &a, int pass, int y,
                                                                       int x0, int count, int top, int bottom) const {
  const Net &n = *a.net;
  const DenseLayer &first = n.first[pass];
  const int C = a.channels, W = a.width, goff = a.gain_offset, sources = a.sources;
  const int16_t *const known = a.known;
  const Scratch &sc = *a.scratch;
  int16_t *const in = sc.in, *const hidden = sc.hidden;
  int32_t *const pre = sc.pre, *const out = sc.out, *const table = sc.table;
  int64_t *const mean = sc.mean;
  const size_t in_stride = sc.in_stride, hidden_stride = sc.hidden_stride, pre_stride = sc.pre_stride,
               out_stride = sc.out_stride;
  const bool spatial = pass_has_spatial_context(pass, config_.causal_context);
  // The nets' inputs: channel context (coarser latents at this place, then
  // the continued half), then spatial context (coding_schedule.h).
  for (int k = 0; k < count; ++k) {
    const int x = x0 + 2 * k;
    int16_t *dst = in + k * in_stride;
    for (int s = 0; s < sources; ++s) {
      const ContextSource &src = a.source[s];
      if (src.reach) {  // the continued half, around (y, x)
        for (int yy = y - src.reach; yy <= y + src.reach; ++yy)
          for (int xx = x - src.reach; xx <= x + src.reach; ++xx, dst += src.channels) {
            if (yy >= 0 && yy < src.height && xx >= 0 && xx < src.width) {
              const int16_t *from = src.known + (size_t(yy) * src.width + xx) * src.channels;
              std::copy(from, from + src.channels, dst);
            } else {
              std::fill(dst, dst + src.channels, int16_t(0));
            }
          }
        continue;
      }
      const int sy = std::min(y >> src.shift, src.height - 1), sx = std::min(x >> src.shift, src.width - 1);
      const int16_t *from = src.known + (size_t(sy) * src.width + sx) * src.channels;
      std::copy(from, from + src.channels, dst);
      dst += src.channels;
    }
    if (spatial) {
      for (const NeighbourOffset &d : kSpatialContext[pass]) {
        const int yy = y + d.dy, xx = x + d.dx;
        if (yy >= top && yy < bottom && xx >= 0 && xx < W) {
          const int16_t *from = known + (size_t(yy) * W + xx) * C;
          std::copy(from, from + C, dst);
        } else {
          std::fill(dst, dst + C, int16_t(0));
        }
        dst += C;
      }
    }
  }
  first.apply(in, in_stride, count, pre, pre_stride);
  for (int k = 0; k < count; ++k)
    for (int h = 0; h < n.hidden; ++h) {
      const int32_t v = pre[k * pre_stride + h];
      hidden[k * hidden_stride + h] = v > 0 ? clamp16(v >> kWeightBits) : 0;
    }
  // Residual hidden layers: h = h + ReLU(W h + b), in Q8.
  for (const DenseLayer &middle : n.middle) {
    middle.apply(hidden, hidden_stride, count, pre, pre_stride);
    for (int k = 0; k < count; ++k)
      for (int h = 0; h < n.hidden; ++h) {
        const int32_t v = pre[k * pre_stride + h];
        int16_t &here = hidden[k * hidden_stride + h];
        if (v > 0) here = clamp16(int32_t(here) + clamp16(v >> kWeightBits));
      }
  }
  n.last.apply(hidden, hidden_stride, count, out, out_stride);
  for (int k = 0; k < count; ++k) {
    const int32_t *o = out + k * out_stride;
    const QualityGains &g = gains_at(a, y, x0 + 2 * k);
    const int64_t *const gain_q16 = g.gain_q16.data() + goff;
    const int32_t *const log2_gain_q16 = g.log2_gain_q16.data() + goff;
    for (int c = 0; c < C; ++c) {
      const int64_t mean_q8 = o[c] >> (20 - kActBits);
      mean[k * C + c] = fixed::shift_round(mean_q8 * gain_q16[c], 16);
      table[k * C + c] = tables_.table_for_log2_scale((o[C + c] >> 4) + log2_gain_q16[c]);
    }
  }
}

// After the batch's symbols (the scratch's `symbol`): what the decoder
// knows now, the dequantized values in Q8, and in float if asked.
__attribute__((always_inline)) inline void ContextModel::settle_batch(const LatentRows &a, int y, int x0,
                                                                      int count) const {
  const int C = a.channels, H = a.height, W = a.width, goff = a.gain_offset;
  int16_t *const known = a.known;
  float *const values = a.values;
  const int32_t *const symbol = a.scratch->symbol;
  const int64_t *const mean = a.scratch->mean;
  for (int k = 0; k < count; ++k) {
    const int x = x0 + 2 * k;
    const QualityGains &g = gains_at(a, y, x);
    const int64_t *const inv_gain_q24 = g.inv_gain_q24.data() + goff;
    const float *const gain = g.gain.data() + goff;
    int16_t *here = known + (size_t(y) * W + x) * C;
    for (int c = 0; c < C; ++c) {
      const int64_t gained_q8 = (int64_t(symbol[k * C + c]) << kActBits) + mean[k * C + c];
      here[c] = int16_t(
          std::clamp<int64_t>(fixed::shift_round(gained_q8 * inv_gain_q24[c], 24), -kInt16Limit, kInt16Limit));
    }
    if (values)
      for (int c = 0; c < C; ++c)
        values[(size_t(c) * H + y) * W + x] = dequantize(symbol[k * C + c], mean[k * C + c], gain[c]);
  }
}

// Rows [y0, y1) of one pass of a latent, whose spatial context sees rows
// [top, bottom), in coding order: batches of kBatch positions of a row
// (the symbols, the only serial step, between preparing and settling
// them), or, where the pass reads itself (the causal anchors), one
// position at a time, since each reads the one before.
template <class Coder, class Step>
void ContextModel::code_rows(const LatentRows &a, int pass, int y0, int y1, int top, int bottom, Coder &to,
                             Step &step) const {
  const int C = a.channels, H = a.height, W = a.width, latent = a.latent, goff = a.gain_offset;
  const int batch = pass_reads_itself(pass, config_.causal_context) ? 1 : kBatch;
  int32_t *const symbol = a.scratch->symbol;
  const int32_t *const table = a.scratch->table;
  const int64_t *const mean = a.scratch->mean;
  for (int y = y0; y < y1; ++y) {
    const int x_first = coding_pass(y, 0) == pass ? 0 : 1;
    for (int x0 = x_first; x0 < W; x0 += 2 * batch) {
      const int count = std::min(batch, (W - x0 + 1) / 2);
      prepare_batch(a, pass, y, x0, count, top, bottom);
      for (int k = 0; k < count; ++k) {
        const int x = x0 + 2 * k;
        const bool ring = y == 0 || x == 0 || y + 1 == H || x + 1 == W;
        const float *const gain = gains_at(a, y, x).gain.data() + goff;
        for (int c = 0; c < C; ++c)
          symbol[k * C + c] = step(to, latent, (size_t(c) * H + y) * W + x, ring, gain[c], mean[k * C + c],
                                   table[k * C + c]);
      }
      settle_batch(a, y, x0, count);
    }
  }
}

// The decoder's two parts a and b of one pass on one thread, in lockstep:
// row r of each, batch by batch, their symbols read alternately from
// their two streams. Each symbol waits on its own stream's state (a load
// and a multiply that the one before it feeds); two streams give the core
// a second chain to run while the first waits. The same symbols, in each
// part, as code_rows reads.
void ContextModel::decode_row_pairs(const LatentRows &a, const LatentRows &b, int pass, const int (&rows_a)[2],
                                    const int (&rows_b)[2], bool own_rows, RansDecoder &from_a,
                                    RansDecoder &from_b) const {
  const int C = a.channels, W = a.width;
  const int batch = pass_reads_itself(pass, config_.causal_context) ? 1 : kBatch;
  const int top_a = own_rows ? rows_a[0] : 0, bottom_a = own_rows ? rows_a[1] : a.height;
  const int top_b = own_rows ? rows_b[0] : 0, bottom_b = own_rows ? rows_b[1] : b.height;
  int32_t *const symbol_a = a.scratch->symbol, *const symbol_b = b.scratch->symbol;
  const int32_t *const table_a = a.scratch->table, *const table_b = b.scratch->table;
  const int rows = std::max(rows_a[1] - rows_a[0], rows_b[1] - rows_b[0]);
  for (int r = 0; r < rows; ++r) {
    const int ya = rows_a[0] + r, yb = rows_b[0] + r;
    const bool in_a = ya < rows_a[1], in_b = yb < rows_b[1];
    const int first_a = coding_pass(ya, 0) == pass ? 0 : 1, first_b = coding_pass(yb, 0) == pass ? 0 : 1;
    const int n_a = in_a ? (W - first_a + 1) / 2 : 0, n_b = in_b ? (W - first_b + 1) / 2 : 0;
    for (int k = 0; k < std::max(n_a, n_b); k += batch) {
      const int count_a = std::clamp(n_a - k, 0, batch), count_b = std::clamp(n_b - k, 0, batch);
      if (count_a) prepare_batch(a, pass, ya, first_a + 2 * k, count_a, top_a, bottom_a);
      if (count_b) prepare_batch(b, pass, yb, first_b + 2 * k, count_b, top_b, bottom_b);
      const int symbols_a = count_a * C, symbols_b = count_b * C;
      for (int i = 0; i < std::max(symbols_a, symbols_b); ++i) {
        if (i < symbols_a) symbol_a[i] = from_a.get(tables_, table_a[i]);
        if (i < symbols_b) symbol_b[i] = from_b.get(tables_, table_b[i]);
      }
      if (count_a) settle_batch(a, ya, first_a + 2 * k, count_a);
      if (count_b) settle_batch(b, yb, first_b + 2 * k, count_b);
    }
  }
}

const QualityGains &ContextModel::gains_at(const LatentRows &a, int y, int x) {
  using Payload = format::TilePayloadHeader;
  const uint8_t s = a.boost.sides;
  const bool boosted = s && (((s & Payload::kSideLeft) && x == 0) || ((s & Payload::kSideTop) && y == 0) ||
                             ((s & Payload::kSideRight) && x + 1 == a.width) ||
                             ((s & Payload::kSideBottom) && y + 1 == a.height));
  return boosted ? *a.boost.gains : *a.gains;
}

// The one coding loop of encoder and decoder: they differ only in `step`,
// which turns (its coder, latent, position, whether it lies on the latent's
// outer ring, the channel's gain there, mean, table) into a symbol; `values` (if given, of
// the latents' shapes) receives the dequantized latents. coders[j] codes part j
// (coding_schedule.h); the parts of a pass run on the threads of `share`
// (parallel.h; none: this one alone), each reading only values that are
// final: rows of its own, of the passes and latents before and, for a
// pass that reads itself, none of another part's.
template <class Coder, class Step>
void ContextModel::code(const std::vector<Planes> &latents, const QualityGains &g, const BorderBoost &boost,
                        std::vector<Coder> &coders, Step step, std::vector<Planes> *values,
                        const ThreadShare *share, const ContinuedHalf &continued) const {
  if (boost.sides && !boost.gains) throw Error(MSIC_ERR_INTERNAL, "a border boost without its gains");
  if (config_.synthesis_context && !(continued && values))
    throw Error(MSIC_ERR_INTERNAL, "a model with synthesis context codes only with the synthesis");
  const int L = config_.latent_count();
  if (int(latents.size()) != L) throw Error(MSIC_ERR_INTERNAL, "wrong number of latents");
  if (coders.empty() || coders.size() > size_t(kMaxCodingParts)) throw Error(MSIC_ERR_INTERNAL, "wrong number of parts");
  // Dequantized values in Q8, channels last: the integer image of what the
  // decoder knows so far.
  std::vector<PooledVector<int16_t>> known(L);
  PooledVector<int16_t> synthesis;  // the continued half of the latent being coded, likewise
  const Scratch mine(nets_);
  std::optional<Scratch> second;  // a decoder's second part of a pair (decode_row_pairs)
  if constexpr (std::is_same_v<Coder, RansDecoder>) second.emplace(nets_);
  for (int l = L - 1; l >= 0; --l) {
    const Planes &p = latents[l];
    LatentRows a;
    a.net = &nets_[l];
    a.gains = &g;
    a.boost = boost;
    a.latent = l;
    a.channels = p.channels, a.height = p.height, a.width = p.width;
    a.gain_offset = channel_offset_[l];
    known[l].assign(size_t(p.channels) * p.height * p.width, 0);
    a.known = known[l].data();
    a.values = values ? (*values)[l].values.data() : nullptr;
    const std::vector<int> sources = config_.context_sources(l);
    if (sources.size() > 2) throw Error(MSIC_ERR_INTERNAL, "a latent has at most two context sources");
    a.sources = int(sources.size());
    for (size_t k = 0; k < sources.size(); ++k) {
      const Planes &sp = latents[sources[k]];
      a.source[k] = {known[sources[k]].data(), config_.latent_shift(sources[k]) - config_.latent_shift(l), sp.height,
                     sp.width, sp.channels, 0};
    }
    if (const int channels = config_.synthesis_channels(l)) {
      const Planes &half = continued(l);
      if (half.channels != channels || half.height != p.height || half.width != p.width)
        throw Error(MSIC_ERR_INTERNAL, "the continued half does not fit its latent");
      synthesis.assign(half.values.size(), 0);
      const size_t plane = half.plane_size();
      for (int c = 0; c < channels; ++c)
        for (size_t i = 0; i < plane; ++i) synthesis[i * channels + c] = to_q8(half.plane(c)[i]);
      a.source[a.sources++] = {synthesis.data(), 0, p.height, p.width, channels, kSynthesisReach};
    }
    const int H = p.height, parts = latent_parts(int(coders.size()), H);
    const size_t symbols = size_t(H) * size_t((p.width + 1) / 2) * p.channels;  // of one pass
    const int threads =
        share ? int(std::min<size_t>({size_t(parts), size_t(share->for_one_item()), symbols / kSymbolsPerPart})) : 1;
    for (int pass = 0; pass < kCodingPasses; ++pass) {
      const bool own_rows = pass_reads_itself(pass, config_.causal_context);
      auto part = [&](int j, const Scratch &s) {
        LatentRows mine_rows = a;
        mine_rows.scratch = &s;
        const int r0 = part_row(j, parts, H), r1 = part_row(j + 1, parts, H);
        code_rows(mine_rows, pass, r0, r1, own_rows ? r0 : 0, own_rows ? r1 : H, coders[size_t(j)], step);
      };
      // A decoder with at least two parts per thread reads them in pairs
      // (decode_row_pairs).
      if constexpr (std::is_same_v<Coder, RansDecoder>) {
        if (parts >= 2 * threads) {
          auto pair = [&](int j, const Scratch &s0, const Scratch &s1) {
            if (j + 1 == parts) return part(j, s0);
            LatentRows rows0 = a, rows1 = a;
            rows0.scratch = &s0, rows1.scratch = &s1;
            const int r0[2] = {part_row(j, parts, H), part_row(j + 1, parts, H)};
            const int r1[2] = {r0[1], part_row(j + 2, parts, H)};
            decode_row_pairs(rows0, rows1, pass, r0, r1, own_rows, coders[size_t(j)], coders[size_t(j) + 1]);
          };
          const int pairs = (parts + 1) / 2;
          if (threads > 1) {
            parallel_for(size_t(pairs), threads, [&](size_t i) { pair(int(2 * i), Scratch(nets_), Scratch(nets_)); });
          } else {
            for (int i = 0; i < pairs; ++i) pair(2 * i, mine, *second);
          }
          continue;
        }
      }
      if (threads > 1) {
        parallel_for(size_t(parts), threads, [&](size_t j) { part(int(j), Scratch(nets_)); });
      } else {
        for (int j = 0; j < parts; ++j) part(j, mine);
      }
    }
  }
}

const CodingCost *ContextModel::rate_costs(Rounding rounding) const {
  if (!(rounding.lambda > 0)) return nullptr;
  std::call_once(rate_costs_->once, [&] { rate_costs_->cost.emplace(tables_); });
  return &*rate_costs_->cost;
}

int32_t ContextModel::choose_symbol(double v, bool ring, int table, Rounding rounding,
                                    const CodingCost *coding_cost) const {
  v = std::clamp(v, -2.0e9, 2.0e9);  // (NaN stays NaN and becomes 0 below)
  const double nearest = round_even(v);
  int32_t s = nearest == nearest ? int32_t(nearest) : 0;
  // The tile's outer ring of each latent keeps the nearest step: pixels
  // at a tile border have half the context, and trading their accuracy
  // for bits made the seams worse (bench/seams.py, 128-px tiles: border
  // / interior MSE 1.31-1.45 with the ring rounded for rate, 1.19-1.30
  // without it, 1.25-1.31 leaving two rings. Kodak BD-rate against AVIF:
  // +25.5% in PSNR either way, +17.7% in MS-SSIM against +17.1%).
  if (coding_cost && !ring) {
    // Of s, its other neighbour and 0, the least squared error (in
    // steps) plus lambda times the bits. Greedy: a choice changes the
    // contexts of what follows, which it does not look at.
    const int32_t other = v >= double(s) ? s + 1 : s - 1;
    auto cost = [&](int32_t c) { return (v - c) * (v - c) + rounding.lambda * coding_cost->bits(tables_, table, c); };
    double best = cost(s);
    for (int32_t c : {other, int32_t(0)}) {
      if (c == s) continue;
      const double j = cost(c);
      if (j < best) best = j, s = c;
    }
  }
  return s;
}

void ContextModel::encode(const std::vector<Planes> &latents, const QualityGains &g, std::vector<RansEncoder> &parts,
                          Rounding rounding, std::vector<Planes> *dequantized, const ThreadShare *share,
                          const BorderBoost &boost, const ContinuedHalf &continued) const {
  const CodingCost *coding_cost = rate_costs(rounding);
  if (dequantized) {
    dequantized->clear();
    for (const Planes &p : latents) dequantized->emplace_back(p.channels, p.height, p.width);
  }
  auto step = [&](RansEncoder &to, int l, size_t at, bool ring, float gain, int64_t mean_q8, int table) {
    const int32_t s =
        choose_symbol(double(latents[l].values[at]) * gain - double(mean_q8) / 256.0, ring, table, rounding, coding_cost);
    to.put(tables_, table, s);
    return s;
  };
  code(latents, g, boost, parts, step, dequantized, share, continued);
}

ContextModel::SymbolModels ContextModel::symbol_models(const std::vector<Planes> &latents, const QualityGains &g,
                                                       int parts, Rounding rounding,
                                                       std::vector<Planes> *dequantized, const ThreadShare *share,
                                                       const BorderBoost &boost,
                                                       const ContinuedHalf &continued) const {
  const CodingCost *coding_cost = rate_costs(rounding);
  SymbolModels m;
  for (const Planes &p : latents)
    for (auto *planes : {&m.mean, &m.scale, &m.gain}) planes->emplace_back(p.channels, p.height, p.width);
  if (dequantized) {
    dequantized->clear();
    for (const Planes &p : latents) dequantized->emplace_back(p.channels, p.height, p.width);
  }
  struct NoCoder {};
  std::vector<NoCoder> coders(size_t(std::max(parts, 0)));
  const double log2_scale_min = tables_.log2_scale_min_q16 / 65536.0;
  auto step = [&](NoCoder &, int l, size_t at, bool ring, float gain, int64_t mean_q8, int table) {
    const double mean = double(mean_q8) / 256.0;
    m.mean[size_t(l)].values[at] = float(mean);
    m.scale[size_t(l)].values[at] = float(std::exp2(log2_scale_min + double(table) / tables_.steps_per_octave));
    m.gain[size_t(l)].values[at] = gain;
    return choose_symbol(double(latents[l].values[at]) * gain - mean, ring, table, rounding, coding_cost);
  };
  code(latents, g, boost, coders, step, dequantized, share, continued);
  return m;
}

void ContextModel::decode(std::vector<Planes> &latents, const QualityGains &g, std::vector<RansDecoder> &parts,
                          const ThreadShare *share, const BorderBoost &boost, const ContinuedHalf &continued) const {
  for (auto &p : latents) p.values.assign(size_t(p.channels) * p.height * p.width, 0.f);
  auto step = [&](RansDecoder &from, int, size_t, bool, float, int64_t, int table) { return from.get(tables_, table); };
  code(latents, g, boost, parts, step, &latents, share, continued);
}

}  // namespace msic::entropy
