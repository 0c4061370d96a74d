#include "latent_annealing.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "errors.h"

namespace msic {

double annealing_lambda(uint32_t quality_centi) {
  constexpr double kLow = 0.0004, kHigh = 1.2;
  return kLow * std::pow(kHigh / kLow, std::min(quality_centi, 10000u) / 10000.0);
}

namespace {
constexpr double kLn2 = 0.69314718055994531;

double normal_cdf(double v) { return 0.5 * std::erfc(-v * M_SQRT1_2); }
double normal_pdf(double v) { return 0.3989422804014327 * std::exp(-0.5 * v * v); }

// One latent less its mean, r (in steps), relaxed at temperature T with the
// draw `gumbel` (the difference of two Gumbel draws): the lower step plus
// a sigmoid that tends to the nearer step as T falls. value: the relaxed
// r; slope: its derivative in r.
struct Relaxed {
  double value, slope;
};
Relaxed relax(double r, double temperature, double gumbel) {
  constexpr double eps = 1e-5;
  const double lower = std::floor(r), d = r - lower;
  const double dl = std::clamp(d, eps, 1 - eps), du = std::clamp(1 - d, eps, 1 - eps);
  const double z = (std::atanh(dl) - std::atanh(du)) / temperature + gumbel;  // logit upper - lower + draw
  const double p = 1.0 / (1.0 + std::exp(-z / temperature));
  // d(atanh(d) - atanh(1 - d))/dd where neither is clamped.
  const double dz = (d > eps && d < 1 - eps ? 1.0 / (1.0 - d * d) : 0.0) +
                    (1 - d > eps && 1 - d < 1 - eps ? 1.0 / (1.0 - (1 - d) * (1 - d)) : 0.0);
  return {lower + p, p * (1 - p) * dz / (temperature * temperature)};
}

// Bits of symbol value v under a discretized Gaussian of scale sigma, and
// their derivative in v.
struct Bits {
  double bits, slope;
};
Bits symbol_bits(double v, double sigma) {
  const double hi = (v + 0.5) / sigma, lo = (v - 0.5) / sigma;
  const double p = normal_cdf(hi) - normal_cdf(lo);
  if (!(p > 1e-9)) return {-std::log2(1e-9), 0.0};
  return {-std::log2(p), -(normal_pdf(hi) - normal_pdf(lo)) / (sigma * p * kLn2)};
}
}  // namespace

std::vector<Planes> anneal_latents(const engine::NetworkEngine &network, const SymbolModelsOf &models,
                                   std::vector<Planes> latents, const Planes &x, int real_width, int real_height,
                                   bool grey, const std::vector<float> &gains, double lambda,
                                   const AnnealingSettings &settings) {
  if (x.channels != 3 || real_width <= 0 || real_height <= 0 || real_width > x.width || real_height > x.height)
    throw Error(MSIC_ERR_INTERNAL, "annealing: the image does not fit");
  if (settings.steps < 1) return latents;
  const size_t L = latents.size();
  const double pixels = double(real_width) * real_height;
  // The variables, in steps (latent x its step's gain), and Adam's moments.
  std::vector<Planes> u = latents, m1, m2;
  entropy::ContextModel::SymbolModels sm;
  std::mt19937 rng(settings.seed);
  std::uniform_real_distribution<double> uniform(1e-9, 1.0);
  auto gumbel = [&] { return -std::log(-std::log(uniform(rng))); };
  const double decay = std::log(settings.end_temperature / settings.start_temperature);
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
  std::vector<Planes> slope(L), rate_slope(L);
  for (int t = 0; t < settings.steps; ++t) {
    const double temperature = settings.start_temperature * std::exp(decay * t / std::max(1, settings.steps - 1));
    if (t % std::max(1, settings.models_every) == 0) {
      // The latents as they are now (the first time: the analysis's).
      for (size_t l = 0; l < L && t > 0; ++l)
        for (size_t i = 0; i < u[l].values.size(); ++i) latents[l].values[i] = u[l].values[i] / sm.gain[l].values[i];
      sm = models(latents);
      if (sm.mean.size() != L) throw Error(MSIC_ERR_INTERNAL, "annealing: symbol models do not fit");
      if (t == 0)
        for (size_t l = 0; l < L; ++l) {
          for (size_t i = 0; i < u[l].values.size(); ++i) u[l].values[i] = latents[l].values[i] * sm.gain[l].values[i];
          m1.emplace_back(u[l].channels, u[l].height, u[l].width);
          m2.emplace_back(u[l].channels, u[l].height, u[l].width);
          std::fill(m1[l].values.begin(), m1[l].values.end(), 0.0f);
          std::fill(m2[l].values.begin(), m2[l].values.end(), 0.0f);
        }
    }
    // Relaxed symbols -> the latents the synthesis sees; the rate's slope.
    std::vector<Planes> decoded(L);
    for (size_t l = 0; l < L; ++l) {
      const size_t n = u[l].values.size();
      decoded[l] = Planes(u[l].channels, u[l].height, u[l].width);
      slope[l] = Planes(u[l].channels, u[l].height, u[l].width);
      rate_slope[l] = Planes(u[l].channels, u[l].height, u[l].width);
      for (size_t i = 0; i < n; ++i) {
        const double mean = sm.mean[l].values[i];
        const Relaxed r = relax(double(u[l].values[i]) - mean, temperature, gumbel() - gumbel());
        decoded[l].values[i] = float((r.value + mean) / sm.gain[l].values[i]);
        slope[l].values[i] = float(r.slope);
        rate_slope[l].values[i] = float(symbol_bits(r.value, sm.scale[l].values[i]).slope / pixels);
      }
    }
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
    const std::vector<Planes> grad = network.latent_gradient(tape, std::move(g));
    // Adam, as torch::optim::Adam (no weight decay), on u.
    const double c1 = 1 - std::pow(kBeta1, t + 1), c2 = 1 - std::pow(kBeta2, t + 1);
    for (size_t l = 0; l < L; ++l)
      for (size_t i = 0; i < u[l].values.size(); ++i) {
        const double dr = double(grad[l].values[i]) / sm.gain[l].values[i] + rate_slope[l].values[i];
        const double du = dr * slope[l].values[i];
        if (!std::isfinite(du)) continue;  // (a latent far out, a draw at the edge of its range)
        float &a = m1[l].values[i], &b = m2[l].values[i];
        a = float(kBeta1 * a + (1 - kBeta1) * du);
        b = float(kBeta2 * b + (1 - kBeta2) * du * du);
        u[l].values[i] -= float(settings.learning_rate * (a / c1) / (std::sqrt(b / c2) + kEps));
      }
  }
  for (size_t l = 0; l < L; ++l)
    for (size_t i = 0; i < u[l].values.size(); ++i) latents[l].values[i] = u[l].values[i] / sm.gain[l].values[i];
  return latents;
}

}  // namespace msic
