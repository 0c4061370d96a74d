#include "latent_annealing.h"

#include <algorithm>
#include <cmath>

#include "engine/elementwise.h"
#include "errors.h"

namespace msic {

double annealing_lambda(uint32_t quality_centi) {
  constexpr double kLow = 0.0004, kHigh = 1.2;
  return kLow * std::pow(kHigh / kLow, std::min(quality_centi, 10000u) / 10000.0);
}

AnnealingSettings annealing_settings(int effort) {
  if (effort < 4) throw Error(MSIC_ERR_INTERNAL, "annealing: efforts 4 and up anneal");
  AnnealingSettings settings;
  settings.steps = effort >= 5 ? 1000 : 300;
  return settings;
}

std::vector<Planes> anneal_latents(const engine::NetworkEngine &network, RelaxedCoding &coding,
                                   std::vector<Planes> latents, const Planes &x, int real_width, int real_height,
                                   bool grey, const std::vector<float> &gains, double lambda,
                                   const AnnealingSettings &settings) {
  if (x.channels != 3 || real_width <= 0 || real_height <= 0 || real_width > x.width || real_height > x.height)
    throw Error(MSIC_ERR_INTERNAL, "annealing: the image does not fit");
  if (settings.steps < 1) return latents;
  const size_t L = latents.size();
  const std::vector<Planes> &step_gain = coding.step_gains();
  if (step_gain.size() != L) throw Error(MSIC_ERR_INTERNAL, "annealing: not the coding's latents");
  const double pixels = double(real_width) * real_height;
  // The variables, in steps (latent x its step's gain), Adam's moments and
  // the draws.
  std::vector<Planes> u = latents, m1, m2, draws;
  for (size_t l = 0; l < L; ++l) {
    if (step_gain[l].values.size() != u[l].values.size()) throw Error(MSIC_ERR_INTERNAL, "annealing: a latent does not fit");
    for (size_t i = 0; i < u[l].values.size(); ++i) u[l].values[i] *= step_gain[l].values[i];
    for (auto *planes : {&m1, &m2, &draws}) {
      planes->emplace_back(u[l].channels, u[l].height, u[l].width);
      std::fill(planes->back().values.begin(), planes->back().values.end(), 0.0f);
    }
  }
  const double decay = std::log(settings.end_temperature / settings.start_temperature),
               rate_decay = std::log(settings.final_learning_rate / settings.learning_rate);
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
  for (int t = 0; t < settings.steps; ++t) {
    const double temperature = settings.start_temperature * std::exp(decay * t / std::max(1, settings.steps - 1));
    // The difference of two Gumbel draws is a logistic one; each step's
    // and latent's from its own key, the same on any threads.
    for (size_t l = 0; l < L; ++l) {
      const uint32_t key = settings.seed * 0x9e3779b9u ^ uint32_t(t * L + l) * 0x85ebca6bu;
      float *out = draws[l].values.data();
      engine::in_ranges(draws[l].values.size(), [&](size_t first, size_t last) {
        engine::logistic_draws(out + first, last - first, key, uint32_t(first));
      });
    }
    RelaxedCoding::Tape coded;
    std::vector<Planes> decoded = coding.forward(u, draws, temperature, coded);
    engine::NetworkEngine::SynthesisTape tape;
    const Planes image = network.synthesis_for_gradient(std::move(decoded), gains, tape);
    // d(lambda 255^2 MSE)/d image, over the real pixels' 3 planes (grey:
    // each plane's error is their mean's, which moves by a third of it).
    Planes g(3, image.height, image.width);
    std::fill(g.values.begin(), g.values.end(), 0.0f);
    const double scale = lambda * 255.0 * 255.0 * 2.0 / (3.0 * pixels);
    for (int y = 0; y < real_height; ++y)
      for (int i = 0; i < real_width; ++i) {
        const size_t at = size_t(y) * image.width + i;
        const double mean_error =
            (double(image.plane(0)[at]) + image.plane(1)[at] + image.plane(2)[at]) / 3.0 - x.plane(0)[at];
        for (int c = 0; c < 3; ++c)
          g.plane(c)[at] = float(scale * (grey ? mean_error : double(image.plane(c)[at]) - x.plane(c)[at]));
      }
    const std::vector<Planes> grad =
        coding.backward(coded, network.latent_gradient(tape, std::move(g)), 1.0 / pixels);
    // Adam, as torch::optim::Adam (no weight decay), on u.
    const double c1 = 1 - std::pow(kBeta1, t + 1), c2 = 1 - std::pow(kBeta2, t + 1);
    const double rate = settings.learning_rate * std::exp(rate_decay * t / std::max(1, settings.steps - 1));
    for (size_t l = 0; l < L; ++l)
      engine::in_ranges(u[l].values.size(), [&](size_t first, size_t last) {
        for (size_t i = first; i < last; ++i) {
          const double du = grad[l].values[i];
          if (!std::isfinite(du)) continue;  // (a latent far out, a draw at the edge of its range)
          float &a = m1[l].values[i], &b = m2[l].values[i];
          a = float(kBeta1 * a + (1 - kBeta1) * du);
          b = float(kBeta2 * b + (1 - kBeta2) * du * du);
          u[l].values[i] -= float(rate * (a / c1) / (std::sqrt(b / c2) + kEps));
        }
      });
  }
  for (size_t l = 0; l < L; ++l)
    for (size_t i = 0; i < u[l].values.size(); ++i) latents[l].values[i] = u[l].values[i] / step_gain[l].values[i];
  return latents;
}

}  // namespace msic
