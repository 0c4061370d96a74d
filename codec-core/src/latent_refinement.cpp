#include "latent_refinement.h"

#include <cmath>

#include "rate_model.h"

namespace msic::net {

std::vector<torch::Tensor> refine_latents(MsicModel &model, const torch::Tensor &x, int anchor, double lambda,
                                          const RefinementSettings &settings) {
  const ModelConfig &c = model->config;
  TORCH_CHECK(anchor >= 0 && anchor < c.anchors, "refine_latents: no anchor ", anchor);
  // Only the latents learn; the model's parameters are as they were after.
  struct FrozenParameters {
    std::vector<torch::Tensor> params;
    std::vector<bool> was;
    explicit FrozenParameters(MsicModel &m) : params(m->parameters()) {
      for (auto &p : params) was.push_back(p.requires_grad()), p.set_requires_grad(false);
    }
    ~FrozenParameters() {
      for (size_t i = 0; i < params.size(); ++i) params[i].set_requires_grad(was[i]);
    }
  } frozen(model);
  std::vector<torch::Tensor> latents, gains, steps;
  {
    torch::NoGradGuard no_grad;
    latents = model->transform->analysis(x);
  }
  // Optimised in quantization steps (latent x gain), so that one learning
  // rate suits every channel and anchor.
  for (int l = 0; l < c.latent_count(); ++l) {
    auto g = torch::exp2(model->gain_log2[anchor].narrow(0, c.first_channel(l), c.latent_channels(l)))
                 .view({1, c.latent_channels(l), 1, 1})
                 .detach();
    gains.push_back(g);
    steps.push_back((latents[l] * g).detach().requires_grad_(true));
  }
  torch::optim::Adam adam(steps, torch::optim::AdamOptions(settings.learning_rate));
  const double decay = std::log(settings.end_temperature / settings.start_temperature);
  for (int t = 0; t < settings.steps; ++t) {
    const double temperature =
        settings.start_temperature * std::exp(decay * t / std::max(1, settings.steps - 1));
    std::vector<torch::Tensor> y(steps.size());
    for (size_t l = 0; l < steps.size(); ++l) y[l] = steps[l] / gains[l];
    auto rd = rate_distortion_of_latents(model, y, x, anchor, lambda, RateMode::kAnnealed, temperature,
                                         settings.context_gradients);
    adam.zero_grad();
    rd.loss.backward();
    adam.step();
  }
  std::vector<torch::Tensor> out(steps.size());
  for (size_t l = 0; l < steps.size(); ++l) out[l] = (steps[l] / gains[l]).detach();
  return out;
}

}  // namespace msic::net
