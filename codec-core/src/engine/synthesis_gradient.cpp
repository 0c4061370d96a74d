// The synthesis backwards, for the encoder's latent refinement: the
// vector-Jacobian product of what the decoder makes of the latents
// (residual prediction, synthesis, postfilter) with respect to them.
// network_engine.h says what it promises. Decoders never run it: it
// keeps the forward pass's activations (a tape); its convolutions use the
// threads of the caller's ThreadsScope, and so do its element-wise loops.
#include <cmath>

#include "engine/elementwise.h"
#include "engine/network_engine.h"
#include "errors.h"

namespace msic::engine {

namespace {
void add(Planes &to, const Planes &from, int first_channel = 0) {
  const float *f = from.plane(first_channel);
  float *t = to.values.data();
  in_ranges(to.values.size(), [&](size_t first, size_t last) {
    for (size_t i = first; i < last; ++i) t[i] += f[i];
  });
}
}  // namespace

const NetworkEngine::GradientNets &NetworkEngine::gradient_nets() const {
  std::call_once(gradient_nets_->made, [this] {
    GradientNets &n = *gradient_nets_;
    const std::vector<std::vector<Conv>> &inverse = inverse_mixes();
    n.units.resize(levels_.size());
    for (size_t k = 0; k < levels_.size(); ++k)
      for (size_t u = 0; u < levels_[k].size(); ++u) {
        const Unit &unit = levels_[k][u];
        n.units[k].push_back({transposed(unit.c1), transposed(unit.c2), transposed(unit.c3), transposed(inverse[k][u])});
      }
    for (const Predictor &p : lrp_) {
      Predictor t;
      if ((t.present = p.present)) t.c1 = transposed(p.c1), t.c2 = transposed(p.c2);
      n.predictors.push_back(std::move(t));
    }
    if (has_post_) n.post1 = transposed(post1_), n.post2 = transposed(post2_);
  });
  return *gradient_nets_;
}

Planes NetworkEngine::synthesis_for_gradient(std::vector<Planes> latents, const std::vector<float> &gains,
                                             SynthesisTape &tape) const {
  const int L = config_.latent_count();
  if (int(latents.size()) != L || int(gains.size()) != config_.total_latent_channels())
    throw Error(MSIC_ERR_INTERNAL, "engine: latents or gains do not fit the model");
  tape = SynthesisTape{};
  tape.gains = gains;
  tape.predictor_inputs.resize(size_t(L));
  tape.predictions.resize(size_t(L));
  // refine_latents, keeping each predictor's input and output.
  for (int l = L - 1; l >= 0; --l) {
    if (!lrp_[l].present) continue;
    Planes in = predictor_input(latents, l), h, r;
    convolve(lrp_[l].c1, in, h, 0, true);
    convolve(lrp_[l].c2, h, r);
    for (int c = 0; c < r.channels; ++c)
      add_prediction(latents[l].plane(c), r.plane(c), r.plane_size(), 1.0f / gains[config_.first_channel(l) + c]);
    tape.predictor_inputs[l] = std::move(in);
    tape.predictions[l] = std::move(r);
  }
  // synthesis, keeping of each unit's input the half its coupling
  // changes, and its coupling net's activations (the backwards would run
  // the net again: a tenth of a step's time).
  const std::vector<std::vector<Conv>> &inverse = inverse_mixes();
  tape.coupled_halves.resize(levels_.size());
  tape.couplings.resize(levels_.size());
  Planes x = std::move(latents.back());
  for (int k = int(levels_.size()) - 1; k >= 0; --k) {
    Planes y = concat(latents[k], x);
    tape.coupled_halves[k].resize(levels_[k].size());
    tape.couplings[k].resize(levels_[k].size());
    for (int u = int(levels_[k].size()) - 1; u >= 0; --u) {
      tape.coupled_halves[k][u] = channels(y, y.channels / 2, y.channels / 2);
      y = levels_[k][u].inverse_taped(std::move(y), inverse[size_t(k)][size_t(u)], tape.couplings[k][u]);
    }
    x = depth_to_space(y);
  }
  if (has_post_) tape.postfilter_input = x;
  postfilter(x);
  return x;
}

Planes NetworkEngine::unit_gradient(int level, int unit, const Planes &y2, const CouplingActivations &net,
                                    Planes g) const {
  const Unit &un = levels_[level][unit];
  const GradientNets::UnitNets &nets = gradient_nets().units[level][unit];
  const int half = y2.channels;
  const size_t n = y2.plane_size();
  // The inverse's last step, ActNorm's: x = (m - bias) / scale.
  for (int c = 0; c < g.channels; ++c) {
    float *p = g.plane(c);
    in_ranges(n, [&](size_t first, size_t last) {
      for (size_t i = first; i < last; ++i) p[i] *= un.inv_scale[c];
    });
  }
  // The inverse mix, m = M^-1 y'.
  Planes gy;
  convolve(nets.mix, g, gy);
  g = Planes();
  // The coupling: y2' = (y2 - t) exp(-log_s), with log_s = clamp tanh(raw_s
  // / clamp) and t = raw_t from the net on y1, the input's first half,
  // which passes through. (raw becomes the gradient on it.)
  const Planes &h1 = net.h1, &h2 = net.h2;
  Planes raw = net.raw;
  for (int c = 0; c < half; ++c)
    in_ranges(n, [&](size_t first, size_t last) {
      coupling_gradient(gy.plane(half + c) + first, raw.plane(c) + first, raw.plane(half + c) + first,
                        y2.plane(c) + first, last - first, un.clamp);
    });
  // The net backwards: raw = c3 h2, h2 = h1 + relu(c2 h1), h1 = relu(c1 y1).
  Planes g_h2, g_h1, g_y1;
  convolve(nets.c3, raw, g_h2);
  raw = Planes();
  Planes g_pre = g_h2;
  in_ranges(g_pre.values.size(), [&](size_t first, size_t last) {
    float *g = g_pre.values.data();
    for (size_t i = first; i < last; ++i) g[i] = h2.values[i] - h1.values[i] > 0.0f ? g[i] : 0.0f;
  });
  convolve(nets.c2, g_pre, g_h1);
  add(g_h1, g_h2);
  relu_gradient(g_h1, h1);
  convolve(nets.c1, g_h1, g_y1);
  float *first = gy.values.data();  // (g_y1: gy's first half)
  in_ranges(g_y1.values.size(), [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) first[i] += g_y1.values[i];
  });
  return gy;
}

std::vector<Planes> NetworkEngine::latent_gradient(const SynthesisTape &tape, Planes g) const {
  const int L = config_.latent_count();
  if (int(tape.coupled_halves.size()) != config_.levels) throw Error(MSIC_ERR_INTERNAL, "engine: no synthesis taped");
  const GradientNets &nets = gradient_nets();
  if (has_post_) {  // image = x + c2(relu(c1 x))
    Planes h, g_h, g_x;
    convolve(post1_, tape.postfilter_input, h, 0, true);
    convolve(nets.post2, g, g_h);
    relu_gradient(g_h, h);
    convolve(nets.post1, g_h, g_x);
    add(g, g_x);
  }
  // The levels, finest first: each gives its latent's gradient and that of
  // the level below's output (the last: the coarsest latent's).
  std::vector<Planes> grads(static_cast<size_t>(L));
  for (int k = 0; k < config_.levels; ++k) {
    Planes gy = space_to_depth(g);
    for (int u = 0; u < int(levels_[k].size()); ++u)
      gy = unit_gradient(k, u, tape.coupled_halves[k][u], tape.couplings[k][u], std::move(gy));
    const int half = gy.channels / 2;
    grads[k] = channels(gy, 0, half);
    g = channels(gy, half, half);
  }
  grads[L - 1] = std::move(g);
  // The residual predictions, finest first: a latent's gradient is whole
  // once the finer latents' predictors, which read it, have added theirs.
  // refined = latent + 0.5 tanh(r) / gain, r = c2 relu(c1 [latent; sources]).
  for (int l = 0; l < L; ++l) {
    if (!lrp_[l].present) continue;
    const Planes &in = tape.predictor_inputs[l], &r = tape.predictions[l];
    Planes g_r(r.channels, r.height, r.width), h, g_h, g_in;
    for (int c = 0; c < r.channels; ++c) {
      const float inv_gain = 1.0f / tape.gains[size_t(config_.first_channel(l) + c)];
      const float *rr = r.plane(c), *gl = grads[l].plane(c);
      float *out = g_r.plane(c);
      in_ranges(r.plane_size(), [&](size_t first, size_t last) {
        prediction_gradient(out + first, gl + first, rr + first, last - first, inv_gain);
      });
    }
    convolve(lrp_[l].c1, in, h, 0, true);
    convolve(nets.predictors[l].c2, g_r, g_h);
    relu_gradient(g_h, h);
    convolve(nets.predictors[l].c1, g_h, g_in);
    add(grads[l], g_in);
    int at = r.channels;
    const int H = in.height, W = in.width;
    for (int s : config_.context_sources(l)) {  // nearest-neighbour upsampled: summed back
      Planes &gs = grads[size_t(s)];
      const int sh = config_.latent_shift(s) - config_.latent_shift(l);
      for (int c = 0; c < gs.channels; ++c, ++at)
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x)
            gs.plane(c)[size_t(y >> sh) * gs.width + (x >> sh)] += g_in.plane(at)[size_t(y) * W + x];
    }
  }
  return grads;
}

}  // namespace msic::engine
