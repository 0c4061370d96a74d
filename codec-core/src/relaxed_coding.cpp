#include "relaxed_coding.h"

#include <algorithm>
#include <cmath>

#include "engine/elementwise.h"
#include "entropy/coding_schedule.h"
#include "errors.h"

namespace msic {

namespace {
// fn(first, last) over ranges of a pass's positions, each carrying
// `channels` latents: about engine::kElementGrain latents a range.
template <class Fn>
void over_positions(size_t positions, int channels, Fn fn) {
  engine::in_ranges(positions, fn, engine::kElementGrain / size_t(std::max(channels, 1)));
}

engine::Conv conv_of(const entropy::ContextModel::FloatLayer &f, std::string name) {
  engine::Conv c;
  c.name = std::move(name);
  c.in = f.inputs, c.out = f.outputs, c.k = 1;
  c.weights = f.weights;
  c.bias = f.bias;
  return c;
}
std::vector<Planes> zeros_like(const std::vector<Planes> &of) {
  std::vector<Planes> z;
  for (const Planes &p : of) {
    z.emplace_back(p.channels, p.height, p.width);
    std::fill(z.back().values.begin(), z.back().values.end(), 0.0f);
  }
  return z;
}
}  // namespace

RelaxedCoding::RelaxedCoding(const engine::NetworkEngine &network, const entropy::ContextModel &context,
                             const std::vector<Planes> &latents, const entropy::QualityGains &gains,
                             const entropy::BorderBoost &boost, int parts, entropy::Rounding rounding,
                             const ThreadShare *share)
    : context_(context), continued_(latents.size()) {
  {
    std::vector<Planes> dequantized;
    engine::IncrementalSynthesis synthesis(network, context.config(), dequantized, gains.gain);
    entropy::ContinuedHalf keep;
    if (context.config().synthesis_context)
      keep = [&](int latent) -> const Planes & { return continued_.at(size_t(latent)) = synthesis.continued(latent); };
    entropy::ContextModel::SymbolModels models =
        context.symbol_models(latents, gains, parts, rounding, &dequantized, share, boost, keep);
    step_gain_ = std::move(models.gain);
    anchor_mean_ = std::move(models.mean);
  }
  const ModelConfig &config = context.config();
  const int L = config.latent_count();
  if (int(step_gain_.size()) != L || int(anchor_mean_.size()) != L)
    throw Error(MSIC_ERR_INTERNAL, "relaxed coding: not the model's latents");
  const entropy::CdfTables &tables = context.tables();
  log2_scale_min_ = tables.log2_scale_min_q16 / 65536.0;
  log2_scale_max_ = log2_scale_min_ + double(tables.count() - 1) / tables.steps_per_octave;
  for (int l = 0; l < L; ++l) {
    const entropy::ContextModel::FloatNet f = context.float_net(l);
    Net n;
    const std::string name = "context." + std::to_string(l);
    for (int pass = 0; pass < entropy::kCodingPasses; ++pass) {
      n.first[pass] = conv_of(f.first[pass], name + ".first");
      n.first_t[pass] = engine::transposed(n.first[pass]);
    }
    for (const auto &m : f.middle) {
      n.middle.push_back(conv_of(m, name + ".middle"));
      n.middle_t.push_back(engine::transposed(n.middle.back()));
    }
    n.last = conv_of(f.last, name + ".last");
    n.last_t = engine::transposed(n.last);
    nets_.push_back(std::move(n));

    // The log2 scale a table adds to the net's: the step's log2 gain (the
    // boosted one on a boosted ring) plus the channel's scale gain, which
    // a boost leaves as it is (ContextModel::gains).
    const Planes &g = step_gain_[size_t(l)];
    Planes offset(g.channels, g.height, g.width);
    const int first = config.first_channel(l);
    for (int c = 0; c < g.channels; ++c) {
      const double scale_gain = gains.log2_gain_q16.at(size_t(first + c)) / 65536.0 -
                                std::log2(double(gains.gain.at(size_t(first + c))));
      for (size_t i = 0; i < g.plane_size(); ++i)
        offset.plane(c)[i] = float(std::log2(double(g.plane(c)[i])) + scale_gain);
    }
    log2_offset_.push_back(std::move(offset));

    std::array<std::vector<uint32_t>, 2> at;
    for (int y = 0; y < g.height; ++y)
      for (int x = 0; x < g.width; ++x) at[size_t(entropy::coding_pass(y, x))].push_back(uint32_t(y * g.width + x));
    positions_.push_back(std::move(at));
    const int n_parts = entropy::latent_parts(parts, g.height);
    std::vector<int> top(size_t(g.height)), bottom(size_t(g.height));
    for (int j = 0; j < n_parts; ++j)
      for (int y = entropy::part_row(j, n_parts, g.height); y < entropy::part_row(j + 1, n_parts, g.height); ++y)
        top[size_t(y)] = entropy::part_row(j, n_parts, g.height),
        bottom[size_t(y)] = entropy::part_row(j + 1, n_parts, g.height);
    part_top_.push_back(std::move(top));
    part_bottom_.push_back(std::move(bottom));
  }
}

// The inputs' order is the one ContextModel::prepare_batch gives its nets
// (coding_schedule.h): the coarser latents at the same place, the
// continued half around it, then the spatial neighbours.
// Input by input, each over all positions: the net's input planes are
// written (forward) and read (backward) in order, not one column at a time.
template <class Visit>
void RelaxedCoding::visit_inputs(int l, int pass, Visit visit) const {
  const ModelConfig &config = context_.config();
  const Planes &shape = step_gain_[size_t(l)];
  const int C = shape.channels, H = shape.height, W = shape.width;
  const std::vector<int> sources = config.context_sources(l);
  const Planes &half = continued_[size_t(l)];
  const bool spatial = entropy::pass_has_spatial_context(pass, config.causal_context);
  const bool own_rows = entropy::pass_reads_itself(pass, config.causal_context);
  const std::vector<uint32_t> &at = positions_[size_t(l)][size_t(pass)];
  const size_t N = at.size();
  std::vector<int64_t> read(N);  // per position, the place in a plane it reads (-1: outside; the input stays 0)
  // read[n] for the neighbour at (dy, dx) inside rows [top(y), bottom(y)).
  auto neighbours = [&](int dy, int dx, bool parts) {
    for (size_t n = 0; n < N; ++n) {
      const int y = int(at[n]) / W, x = int(at[n]) % W, yy = y + dy, xx = x + dx;
      const int top = parts ? part_top_[size_t(l)][size_t(y)] : 0;
      const int bottom = parts ? part_bottom_[size_t(l)][size_t(y)] : H;
      read[n] = yy >= top && yy < bottom && xx >= 0 && xx < W ? int64_t(yy) * W + xx : -1;
    }
  };
  auto each = [&](int input, From from, int source, size_t plane_size, int channels) {
    for (int c = 0; c < channels; ++c)
      for (size_t n = 0; n < N; ++n)
        if (read[n] >= 0) visit(input + c, n, from, source, c * plane_size + size_t(read[n]));
  };
  int input = 0;
  for (int s : sources) {
    const Planes &sp = step_gain_[size_t(s)];
    const int shift = config.latent_shift(s) - config.latent_shift(l);
    for (size_t n = 0; n < N; ++n) {
      const int y = int(at[n]) / W, x = int(at[n]) % W;
      read[n] = int64_t(std::min(y >> shift, sp.height - 1)) * sp.width + std::min(x >> shift, sp.width - 1);
    }
    each(input, From::kCoarser, s, sp.plane_size(), sp.channels);
    input += sp.channels;
  }
  if (const int channels = config.synthesis_channels(l)) {
    if (half.channels != channels || half.height != H || half.width != W)
      throw Error(MSIC_ERR_INTERNAL, "relaxed coding: the continued half does not fit its latent");
    for (int dy = -entropy::kSynthesisReach; dy <= entropy::kSynthesisReach; ++dy)
      for (int dx = -entropy::kSynthesisReach; dx <= entropy::kSynthesisReach; ++dx, input += channels) {
        neighbours(dy, dx, false);
        each(input, From::kContinued, l, half.plane_size(), channels);
      }
  }
  if (!spatial) return;
  for (const entropy::NeighbourOffset &d : entropy::kSpatialContext[pass]) {
    neighbours(d.dy, d.dx, own_rows);
    each(input, From::kAnchors, l, shape.plane_size(), C);
    input += C;
  }
}

Planes RelaxedCoding::run_net(int l, int pass, const Planes &in, Tape::Pass &tape) const {
  const Net &n = nets_[size_t(l)];
  engine::convolve(n.first[pass], in, tape.hidden, 0, true);
  Planes h = tape.hidden;
  tape.middle.assign(n.middle.size(), Planes());
  for (size_t k = 0; k < n.middle.size(); ++k) {
    engine::convolve(n.middle[k], h, tape.middle[k]);
    const float *pre = tape.middle[k].values.data();
    for (size_t i = 0; i < h.values.size(); ++i) h.values[i] += std::max(pre[i], 0.0f);
  }
  Planes out;
  engine::convolve(n.last, h, out);
  return out;
}

Planes RelaxedCoding::net_gradient(int l, int pass, const Tape::Pass &tape, Planes out_gradient) const {
  const Net &n = nets_[size_t(l)];
  Planes g, step;
  engine::convolve(n.last_t, out_gradient, g);
  for (size_t k = n.middle.size(); k-- > 0;) {
    Planes masked = g;
    engine::relu_gradient(masked, tape.middle[k]);
    engine::convolve(n.middle_t[k], masked, step);
    for (size_t i = 0; i < g.values.size(); ++i) g.values[i] += step.values[i];
  }
  engine::relu_gradient(g, tape.hidden);
  Planes in_gradient(n.first_t[pass].out, 1, g.width);
  if (in_gradient.channels) engine::convolve(n.first_t[pass], g, in_gradient);  // (none: the coarsest anchors)
  return in_gradient;
}

std::vector<Planes> RelaxedCoding::forward(const std::vector<Planes> &u, const std::vector<Planes> &draws,
                                           double temperature, Tape &tape) {
  const ModelConfig &config = context_.config();
  const int L = config.latent_count();
  if (int(u.size()) != L || int(draws.size()) != L) throw Error(MSIC_ERR_INTERNAL, "relaxed coding: not the model's latents");
  std::vector<Planes> decoded = zeros_like(u);
  tape.passes.assign(size_t(L), {});
  tape.slope = zeros_like(u), tape.bits_slope = zeros_like(u), tape.scale_slope = zeros_like(u);
  tape.anchor_slope = zeros_like(u), tape.anchor = zeros_like(u);
  tape.bits = 0;
  // Element-wise scratch, by channel then position, of the largest pass.
  struct Scratch {
    std::vector<float> fraction, draw, up, slope, symbol, log2_scale, bits, bits_slope, scale_slope;
  } scratch;
  size_t most = 0;
  for (const Planes &p : u) most = std::max(most, p.values.size());
  for (auto *v : {&scratch.fraction, &scratch.draw, &scratch.up, &scratch.slope, &scratch.symbol,
                  &scratch.log2_scale, &scratch.bits, &scratch.bits_slope, &scratch.scale_slope})
    v->resize(most);
  for (int l = L - 1; l >= 0; --l) {
    const Planes &ul = u[size_t(l)], &gain = step_gain_[size_t(l)], &offset = log2_offset_[size_t(l)];
    const int C = ul.channels;
    const size_t plane = ul.plane_size();
    if (gain.channels != C || gain.plane_size() != plane || draws[size_t(l)].values.size() != ul.values.size())
      throw Error(MSIC_ERR_INTERNAL, "relaxed coding: a latent of the wrong shape");
    const std::vector<uint32_t> &anchors_at = positions_[size_t(l)][0];
    const float *draw = draws[size_t(l)].values.data();
    if (config.causal_context)  // the causal copies of the anchors, around the last forward's means
      over_positions(anchors_at.size(), C, [&](size_t first, size_t last) {
        const size_t count = last - first;
        for (int c = 0; c < C; ++c) {
          const size_t k0 = c * anchors_at.size() + first;
          float *f = scratch.fraction.data() + k0, *d = scratch.draw.data() + k0;
          float *up = scratch.up.data() + k0, *slope = scratch.slope.data() + k0;
          const float *uc = ul.plane(c), *mc = anchor_mean_[size_t(l)].plane(c), *dc = draw + c * plane;
          for (size_t k = 0; k < count; ++k) {
            const uint32_t i = anchors_at[first + k];
            const double r = double(uc[i]) - mc[i];
            f[k] = float(r - std::floor(r)), d[k] = dc[i];
          }
          engine::relax_symbols(f, d, count, float(temperature), up, slope);
          float *anchor = tape.anchor[size_t(l)].plane(c), *anchor_slope = tape.anchor_slope[size_t(l)].plane(c);
          const float *gc = gain.plane(c);
          for (size_t k = 0; k < count; ++k) {
            const uint32_t i = anchors_at[first + k];
            const double mean = mc[i];
            anchor[i] = float((std::floor(uc[i] - mean) + up[k] + mean) / gc[i]);
            anchor_slope[i] = slope[k];
          }
        }
      });
    for (int pass = 0; pass < entropy::kCodingPasses; ++pass) {
      const std::vector<uint32_t> &at = positions_[size_t(l)][size_t(pass)];
      if (at.empty()) continue;  // (a latent of one position has no second pass)
      Planes in(nets_[size_t(l)].first[pass].in, 1, int(at.size()));
      std::fill(in.values.begin(), in.values.end(), 0.0f);
      const Planes &anchors = pass == 0 ? tape.anchor[size_t(l)] : decoded[size_t(l)];
      visit_inputs(l, pass, [&](int input, size_t n, From from, int source, size_t e) {
        const Planes &p = from == From::kCoarser ? decoded[size_t(source)]
                          : from == From::kContinued ? continued_[size_t(l)]
                                                     : anchors;
        in.plane(input)[n] = p.values[e];
      });
      const Planes out = run_net(l, pass, in, tape.passes[size_t(l)][size_t(pass)]);
      // Channel by channel, a range of positions at a time: gathered into
      // the scratch, the element-wise passes, scattered back.
      over_positions(at.size(), C, [&](size_t first, size_t last) {
        const size_t count = last - first;
        for (int c = 0; c < C; ++c) {
          const size_t k0 = c * at.size() + first;
          float *f = scratch.fraction.data() + k0, *d = scratch.draw.data() + k0;
          float *up = scratch.up.data() + k0, *slope = scratch.slope.data() + k0;
          float *v = scratch.symbol.data() + k0, *s = scratch.log2_scale.data() + k0;
          float *bits = scratch.bits.data() + k0, *bits_slope = scratch.bits_slope.data() + k0,
                *scale_slope = scratch.scale_slope.data() + k0;
          const float *uc = ul.plane(c), *gc = gain.plane(c), *dc = draw + c * plane, *oc = offset.plane(c);
          const float *mean_out = out.plane(c) + first, *scale_out = out.plane(C + c) + first;
          for (size_t k = 0; k < count; ++k) {
            const uint32_t i = at[first + k];
            const double r = uc[i] - double(gc[i]) * mean_out[k];
            f[k] = float(r - std::floor(r)), d[k] = dc[i];
          }
          engine::relax_symbols(f, d, count, float(temperature), up, slope);
          float *decoded_c = decoded[size_t(l)].plane(c), *slope_c = tape.slope[size_t(l)].plane(c);
          float *mean_c = anchor_mean_[size_t(l)].plane(c);
          for (size_t k = 0; k < count; ++k) {
            const uint32_t i = at[first + k];
            const double mean = double(gc[i]) * mean_out[k];
            const double symbol = std::floor(uc[i] - mean) + up[k];
            v[k] = float(symbol), s[k] = scale_out[k] + oc[i];
            decoded_c[i] = float((symbol + mean) / gc[i]);
            slope_c[i] = slope[k];
            if (pass == 0) mean_c[i] = float(mean);
          }
          engine::gaussian_bits(v, s, count, float(log2_scale_min_), float(log2_scale_max_), bits, bits_slope,
                                scale_slope);
          float *bits_slope_c = tape.bits_slope[size_t(l)].plane(c), *scale_slope_c = tape.scale_slope[size_t(l)].plane(c);
          for (size_t k = 0; k < count; ++k) {
            const uint32_t i = at[first + k];
            bits_slope_c[i] = bits_slope[k], scale_slope_c[i] = scale_slope[k];
          }
        }
      });
      double bits = 0;
      for (size_t k = 0; k < at.size() * C; ++k) bits += scratch.bits[k];
      tape.bits += bits;
    }
  }
  return decoded;
}

std::vector<Planes> RelaxedCoding::backward(const Tape &tape, std::vector<Planes> decoded_gradient,
                                            double rate_weight) const {
  const int L = context_.config().latent_count();
  if (int(decoded_gradient.size()) != L || tape.passes.size() != size_t(L))
    throw Error(MSIC_ERR_INTERNAL, "relaxed coding: not the forward's latents");
  std::vector<Planes> &G = decoded_gradient;  // on each decoded latent, complete before its turn
  std::vector<Planes> du = zeros_like(G);
  // Latest coded first: a latent's decoded values are read only by the
  // passes and latents coded after it.
  for (int l = 0; l < L; ++l) {
    const Planes &gain = step_gain_[size_t(l)];
    const int C = gain.channels;
    const size_t plane = gain.plane_size();
    for (int pass = entropy::kCodingPasses - 1; pass >= 0; --pass) {
      const std::vector<uint32_t> &at = positions_[size_t(l)][size_t(pass)];
      if (at.empty()) continue;
      // decoded = (relaxed(u - mean) + mean) / gain, bits(relaxed, scale):
      // on u, and on the net's mean (in latent units) and log2 scale.
      Planes out_gradient(2 * C, 1, int(at.size()));
      over_positions(at.size(), C, [&](size_t first, size_t last) {
        for (int c = 0; c < C; ++c) {
          const float *gc = gain.plane(c), *slope_c = tape.slope[size_t(l)].plane(c), *on_c = G[size_t(l)].plane(c);
          const float *bits_slope_c = tape.bits_slope[size_t(l)].plane(c);
          const float *scale_slope_c = tape.scale_slope[size_t(l)].plane(c);
          float *du_c = du[size_t(l)].plane(c), *on_mean = out_gradient.plane(c), *on_scale = out_gradient.plane(C + c);
          for (size_t n = first; n < last; ++n) {
            const uint32_t i = at[n];
            const double g = gc[i], slope = slope_c[i];
            const double on_decoded = on_c[i] / g, on_bits = rate_weight * bits_slope_c[i];
            du_c[i] += float((on_decoded + on_bits) * slope);
            on_mean[n] = float(g * (on_decoded * (1 - slope) - on_bits * slope));
            on_scale[n] = float(rate_weight * scale_slope_c[i]);
          }
        }
      });
      const Planes in_gradient = net_gradient(l, pass, tape.passes[size_t(l)][size_t(pass)], std::move(out_gradient));
      visit_inputs(l, pass, [&](int input, size_t n, From from, int source, size_t e) {
        const float v = in_gradient.plane(input)[n];
        if (from == From::kCoarser) {
          G[size_t(source)].values[e] += v;
        } else if (from == From::kAnchors) {
          if (pass == 1)
            G[size_t(l)].values[e] += v;
          else  // a causal copy: its own u's relaxation around a constant mean
            du[size_t(l)].values[e] += float(v * tape.anchor_slope[size_t(l)].values[e] / gain.values[e]);
        }  // (the continued half is held constant)
      });
    }
  }
  return du;
}

}  // namespace msic
