#include "relaxed_coding.h"

#include <algorithm>
#include <cmath>

#include "entropy/coding_schedule.h"
#include "errors.h"
#include "parallel.h"

namespace msic {

namespace {
constexpr double kLn2 = 0.69314718055994531;

double normal_cdf(double v) { return 0.5 * std::erfc(-v * M_SQRT1_2); }
double normal_pdf(double v) { return 0.3989422804014327 * std::exp(-0.5 * v * v); }

// One latent less its mean, r (in steps), relaxed at temperature T with the
// draw `gumbel` (the difference of two Gumbel draws): the lower step plus
// a sigmoid that tends to the nearer step as T falls (rate_model.cpp's
// annealed_round). value: the relaxed r; slope: its derivative in r.
struct Relaxed {
  double value, slope;
};
Relaxed relax(double r, double temperature, double gumbel) {
  constexpr double eps = 1e-5;
  const double lower = std::floor(r), d = r - lower;
  const double dl = std::clamp(d, eps, 1 - eps), du = std::clamp(1 - d, eps, 1 - eps);
  // atanh(dl) - atanh(du), in one logarithm.
  const double a = 0.5 * std::log((1 + dl) * (1 - du) / ((1 - dl) * (1 + du)));
  const double z = a / temperature + gumbel;  // logit upper - lower + draw
  const double p = 1.0 / (1.0 + std::exp(-z / temperature));
  // d(atanh(d) - atanh(1 - d))/dd where neither is clamped.
  const double dz = (d > eps && d < 1 - eps ? 1.0 / (1.0 - d * d) : 0.0) +
                    (1 - d > eps && 1 - d < 1 - eps ? 1.0 / (1.0 - (1 - d) * (1 - d)) : 0.0);
  return {lower + p, p * (1 - p) * dz / (temperature * temperature)};
}

// Bits of symbol value v under a discretized Gaussian of scale sigma, and
// their derivatives in v and in log2(sigma).
struct Bits {
  double bits, slope, scale_slope;
};
Bits symbol_bits(double v, double sigma) {
  const double hi = (v + 0.5) / sigma, lo = (v - 0.5) / sigma;
  const double p = normal_cdf(hi) - normal_cdf(lo);
  if (!(p > 1e-9)) return {-std::log2(1e-9), 0.0, 0.0};
  const double ph = normal_pdf(hi), pl = normal_pdf(lo);
  return {-std::log2(p), -(ph - pl) / (sigma * p * kLn2), (ph * hi - pl * lo) / p};
}

engine::Conv conv_of(const entropy::ContextModel::FloatLayer &f, std::string name) {
  engine::Conv c;
  c.name = std::move(name);
  c.in = f.inputs, c.out = f.outputs, c.k = 1;
  c.weights = f.weights;
  c.bias = f.bias;
  return c;
}
// fn(first, last) over [0, n) in ranges, on the threads the caller's
// ThreadsScope lends (each element's work is its own).
template <class Fn>
void in_ranges(size_t n, Fn fn) {
  const size_t threads = std::min<size_t>(size_t(engine::ThreadsScope::threads()), n / 2048 + 1);
  parallel_for(threads, int(threads), [&](size_t k) { fn(k * n / threads, (k + 1) * n / threads); });
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
  for (size_t n = 0; n < at.size(); ++n) {
    const int y = int(at[n]) / W, x = int(at[n]) % W;
    int input = 0;
    for (int s : sources) {
      const Planes &sp = step_gain_[size_t(s)];
      const int shift = config.latent_shift(s) - config.latent_shift(l);
      const size_t i = size_t(std::min(y >> shift, sp.height - 1)) * sp.width + std::min(x >> shift, sp.width - 1);
      for (int c = 0; c < sp.channels; ++c, ++input) visit(input, n, From::kCoarser, s, c * sp.plane_size() + i);
    }
    if (const int channels = config.synthesis_channels(l)) {
      if (half.channels != channels || half.height != H || half.width != W)
        throw Error(MSIC_ERR_INTERNAL, "relaxed coding: the continued half does not fit its latent");
      for (int yy = y - entropy::kSynthesisReach; yy <= y + entropy::kSynthesisReach; ++yy)
        for (int xx = x - entropy::kSynthesisReach; xx <= x + entropy::kSynthesisReach; ++xx, input += channels)
          if (yy >= 0 && yy < H && xx >= 0 && xx < W)
            for (int c = 0; c < channels; ++c)
              visit(input + c, n, From::kContinued, l, c * half.plane_size() + size_t(yy) * W + xx);
    }
    if (!spatial) continue;
    const int top = own_rows ? part_top_[size_t(l)][size_t(y)] : 0;
    const int bottom = own_rows ? part_bottom_[size_t(l)][size_t(y)] : H;
    for (const entropy::NeighbourOffset &d : entropy::kSpatialContext[pass]) {
      const int yy = y + d.dy, xx = x + d.dx;
      if (yy >= top && yy < bottom && xx >= 0 && xx < W)
        for (int c = 0; c < C; ++c)
          visit(input + c, n, From::kAnchors, l, c * shape.plane_size() + size_t(yy) * W + xx);
      input += C;
    }
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
  for (int l = L - 1; l >= 0; --l) {
    const Planes &ul = u[size_t(l)], &gain = step_gain_[size_t(l)], &offset = log2_offset_[size_t(l)];
    const int C = ul.channels;
    const size_t plane = ul.plane_size();
    if (gain.channels != C || gain.plane_size() != plane || draws[size_t(l)].values.size() != ul.values.size())
      throw Error(MSIC_ERR_INTERNAL, "relaxed coding: a latent of the wrong shape");
    const std::vector<uint32_t> &anchors_at = positions_[size_t(l)][0];
    if (config.causal_context)  // the causal copies of the anchors, around the last forward's means
      in_ranges(anchors_at.size(), [&](size_t first, size_t last) {
        for (size_t n = first; n < last; ++n)
          for (int c = 0; c < C; ++c) {
            const size_t e = c * plane + anchors_at[n];
            const double mean = anchor_mean_[size_t(l)].values[e];
            const Relaxed r = relax(ul.values[e] - mean, temperature, draws[size_t(l)].values[e]);
            tape.anchor[size_t(l)].values[e] = float((r.value + mean) / gain.values[e]);
            tape.anchor_slope[size_t(l)].values[e] = float(r.slope);
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
      std::vector<double> bits(at.size(), 0.0);
      in_ranges(at.size(), [&](size_t first, size_t last) {
        for (size_t n = first; n < last; ++n)
          for (int c = 0; c < C; ++c) {
            const size_t e = c * plane + at[n];
            const double g = gain.values[e];
            const double mean = g * out.plane(c)[n];
            const double log2_scale = std::clamp(double(out.plane(C + c)[n]) + offset.values[e], log2_scale_min_,
                                                 log2_scale_max_);
            const bool clamped = log2_scale == log2_scale_min_ || log2_scale == log2_scale_max_;
            const Relaxed r = relax(ul.values[e] - mean, temperature, draws[size_t(l)].values[e]);
            const Bits b = symbol_bits(r.value, std::exp2(log2_scale));
            decoded[size_t(l)].values[e] = float((r.value + mean) / g);
            tape.slope[size_t(l)].values[e] = float(r.slope);
            tape.bits_slope[size_t(l)].values[e] = float(b.slope);
            tape.scale_slope[size_t(l)].values[e] = clamped ? 0.0f : float(b.scale_slope);
            bits[n] += b.bits;
            if (pass == 0) anchor_mean_[size_t(l)].values[e] = float(mean);
          }
      });
      for (double b : bits) tape.bits += b;
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
      in_ranges(at.size(), [&](size_t first, size_t last) {
        for (size_t n = first; n < last; ++n)
          for (int c = 0; c < C; ++c) {
            const size_t e = c * plane + at[n];
            const double g = gain.values[e], slope = tape.slope[size_t(l)].values[e];
            const double on_decoded = G[size_t(l)].values[e] / g,
                         on_bits = rate_weight * tape.bits_slope[size_t(l)].values[e];
            du[size_t(l)].values[e] += float((on_decoded + on_bits) * slope);
            out_gradient.plane(c)[n] = float(g * (on_decoded * (1 - slope) - on_bits * slope));
            out_gradient.plane(C + c)[n] = float(rate_weight * tape.scale_slope[size_t(l)].values[e]);
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
