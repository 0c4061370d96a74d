#include "rate_model.h"

#include <cmath>

#include "entropy/context_model.h"

namespace msic::net {
namespace {
torch::Tensor round_ste(const torch::Tensor &x) { return x + (torch::round(x) - x).detach(); }
torch::Tensor normal_cdf(const torch::Tensor &v) { return 0.5 * torch::erfc(-v * M_SQRT1_2); }

// Stochastic Gumbel annealing of r (a latent less its mean, in steps): the
// lower step plus a relaxed draw of 0 or 1 (`gumbel`: the difference of two
// Gumbel draws). The nearer step's odds go as exp(-atanh(distance) / T),
// and the draw is a Gumbel-softmax at the same temperature T, so as T falls
// the value tends to the nearer step and the loss to that of rounding.
torch::Tensor annealed_round(const torch::Tensor &r, double temperature, const torch::Tensor &gumbel) {
  const double eps = 1e-5;
  auto lower = torch::floor(r).detach();
  auto d = r - lower;
  auto logit_lower = -torch::atanh(d.clamp(eps, 1 - eps)) / temperature;
  auto logit_upper = -torch::atanh((1 - d).clamp(eps, 1 - eps)) / temperature;
  return lower + torch::sigmoid((logit_upper - logit_lower + gumbel) / temperature);
}
}  // namespace

double anchor_lambda(int a, int anchors, double low, double high) {
  return low * std::pow(high / low, double(a) / (anchors - 1));
}

RateDistortion rate_distortion(MsicModel &model, const torch::Tensor &x, int a, double lambda, RateMode mode) {
  return rate_distortion_of_latents(model, model->transform->analysis(x), x, a, lambda, mode);
}

RateDistortion rate_distortion_of_latents(MsicModel &model, const std::vector<torch::Tensor> &latents,
                                          const torch::Tensor &x, int a, double lambda, RateMode mode,
                                          double temperature, bool context_gradients) {
  const bool estimate = mode == RateMode::kEstimate, annealed = mode == RateMode::kAnnealed;
  const ModelConfig &c = model->config;
  TORCH_CHECK(int(latents.size()) == c.latent_count(), "rate_distortion_of_latents: not the model's latent count");
  TORCH_CHECK(a >= 0 && a < c.anchors, "rate_distortion_of_latents: no anchor ", a);
  const int L = c.latent_count();
  std::vector<torch::Tensor> known(L), refined(L);
  // The synthesis so far, as the decoder makes it: the continued half of
  // the latent coded next (synthesis_context), finally the image.
  torch::Tensor continued;
  std::vector<std::array<double, 2>> pass_bits(estimate ? L : 0);
  auto log2_gain = model->gain_log2[a], log2_scale = model->gain_log2_scale[a];
  const auto inv_gains = torch::exp2(-log2_gain).detach();
  auto bits = torch::zeros({}, x.options());
  int off = c.total_latent_channels();
  for (int l = L - 1; l >= 0; --l) {  // coarsest first
    int ch = c.latent_channels(l);
    off -= ch;
    auto lg = log2_gain.narrow(0, off, ch).view({1, ch, 1, 1});
    auto g = torch::exp2(lg);
    auto ls = log2_scale.narrow(0, off, ch).view({1, ch, 1, 1});
    auto ctx = context_features(c, known, l, latents[l].size(2), latents[l].size(3),
                                c.synthesis_channels(l) ? continued : torch::Tensor());
    auto y_g = latents[l] * g;
    auto second = second_pass_mask(y_g.size(2), y_g.size(3), x.options());
    // A latent less its mean, quantized: straight-through rounding, or
    // annealed with one draw of noise per latent (so an anchor has the same
    // value whichever pass's means it is taken around).
    torch::Tensor gumbel;
    if (annealed) {
      auto u = torch::rand({2, y_g.size(0), y_g.size(1), y_g.size(2), y_g.size(3)}, x.options()).clamp_min(1e-9);
      auto draws = -torch::log(-torch::log(u));
      gumbel = draws[1] - draws[0];
    }
    auto quantize = [&](const torch::Tensor &r) { return annealed ? annealed_round(r, temperature, gumbel) : round_ste(r); };
    // Anchors first (their parameters ignore the spatial input), then the
    // rest. Causal models: an anchor also sees the anchors decoded before it,
    // which here are the noisy latent (training) or, for the estimate, the
    // latent rounded around a first guess of the means.
    torch::Tensor causal;
    if (c.causal_context) {
      if (estimate || annealed) {
        auto guess = model->context[l]->forward(torch::zeros_like(y_g), ctx, latents[l]).first * g;
        causal = ((estimate ? torch::round(y_g - guess) : quantize(y_g - guess)) + guess) / g;
      } else {
        causal = (y_g + torch::rand_like(y_g) - 0.5) / g;
      }
    }
    auto [mean_a, log2s_a] = model->context[l]->forward(torch::zeros_like(y_g), ctx, causal);
    auto anchors_hat = (quantize(y_g - mean_a * g) + mean_a * g) / g * (1 - second);
    auto [mean_b, log2s_b] = model->context[l]->forward(anchors_hat, ctx);
    auto mean = mean_a * (1 - second) + mean_b * second;
    auto log2s = log2s_a * (1 - second) + log2s_b * second;
    if (!context_gradients) mean = mean.detach(), log2s = log2s.detach();
    auto mean_g = mean * g;
    auto sigma = torch::exp2(log2s + lg + ls).clamp(0.11, 1e4);
    auto noisy = estimate   ? torch::round(y_g - mean_g) + mean_g
                 : annealed ? quantize(y_g - mean_g) + mean_g
                            : y_g + torch::rand_like(y_g) - 0.5;
    auto p = normal_cdf((noisy - mean_g + 0.5) / sigma) - normal_cdf((noisy - mean_g - 0.5) / sigma);
    auto symbol_bits = -torch::log2(p.clamp_min(1e-9));
    bits = bits + symbol_bits.sum();
    if (estimate)
      pass_bits[l] = {(symbol_bits * (1 - second)).sum().item<double>(), (symbol_bits * second).sum().item<double>()};
    known[l] = annealed ? noisy / g : (round_ste(y_g - mean_g) + mean_g) / g;
    refined[l] = known[l];
    refined[l] = model->refine_latent(l, refined, inv_gains);
    if (l < c.levels)
      continued = model->transform->synthesis_level(l, refined[l], l == c.levels - 1 ? refined[L - 1] : continued);
  }
  auto x_hat = model->postfilter(continued);
  auto mse = torch::mse_loss(x_hat, x);
  auto bpp = bits / double(x.size(0) * x.size(2) * x.size(3));
  return {lambda * 255.0 * 255.0 * mse + bpp, bpp, mse, x_hat, pass_bits};
}

void clamp_context_weights_to_codec_range(MsicModel &model) {
  torch::NoGradGuard no_grad;
  const double limit = 32767.0 / (1 << entropy::kWeightBits);
  for (auto &n : model->context) {
    for (auto *w : {&n->wc, &n->ws, &n->wa, &n->wo})
      if (w->defined()) w->clamp_(-limit, limit);
    for (auto &w : n->wm) w.clamp_(-limit, limit);
  }
}

}  // namespace msic::net
