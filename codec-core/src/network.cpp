#include "network.h"

#include "engine/kernels.h"
#include "entropy/coding_schedule.h"
#include "errors.h"

namespace F = torch::nn::functional;

namespace msic::net {
namespace {
torch::Tensor conv(const torch::Tensor &x, const torch::Tensor &w, const torch::Tensor &b) {
  return torch::conv2d(x, w, b, 1, w.size(-1) / 2);
}
}  // namespace

InvertibleUnitImpl::InvertibleUnitImpl(int channels, int width, float clamp_) : clamp(clamp_) {
  int half = channels / 2;
  actnorm_log_scale = register_parameter("actnorm_log_scale", torch::zeros({channels}));
  actnorm_bias = register_parameter("actnorm_bias", torch::zeros({channels}));
  mix = register_parameter("mix", torch::eye(channels));
  // Kaiming-like init for the hidden layers, zero for the last: a new unit
  // starts as the identity.
  w1 = register_parameter("w1", torch::randn({width, half, 3, 3}) * std::sqrt(2.0 / (9 * half)));
  b1 = register_parameter("b1", torch::zeros({width}));
  w2 = register_parameter("w2", torch::randn({width, width, 1, 1}) * std::sqrt(2.0 / width));
  b2 = register_parameter("b2", torch::zeros({width}));
  w3 = register_parameter("w3", torch::zeros({channels, width, 3, 3}));
  b3 = register_parameter("b3", torch::zeros({channels}));
}

std::pair<torch::Tensor, torch::Tensor> InvertibleUnitImpl::coupling(const torch::Tensor &xa) {
  auto h = torch::relu(conv(xa, w1, b1));
  h = h + torch::relu(conv(h, w2, b2));  // residual
  auto raw = conv(h, w3, b3);
  auto parts = raw.chunk(2, 1);
  auto log_s = clamp * torch::tanh(parts[0] / clamp);
  return {log_s, parts[1]};
}

torch::Tensor InvertibleUnitImpl::forward(torch::Tensor x) {
  int64_t c = x.size(1);
  x = x * actnorm_log_scale.exp().view({1, c, 1, 1}) + actnorm_bias.view({1, c, 1, 1});
  x = torch::conv2d(x, mix.view({c, c, 1, 1}));
  auto halves = x.chunk(2, 1);
  auto [log_s, t] = coupling(halves[0]);
  return torch::cat({halves[0], halves[1] * log_s.exp() + t}, 1);
}

torch::Tensor InvertibleUnitImpl::inverse(torch::Tensor y) {
  int64_t c = y.size(1);
  auto halves = y.chunk(2, 1);
  auto [log_s, t] = coupling(halves[0]);
  auto x = torch::cat({halves[0], (halves[1] - t) * (-log_s).exp()}, 1);
  // On a GPU, inv_ex skips the singularity check that would wait for the
  // device; the codec (CPU) keeps the checked inverse.
  auto mix64 = mix.to(torch::kDouble);
  auto inv = (mix.is_cuda() ? std::get<0>(torch::linalg_inv_ex(mix64)) : torch::inverse(mix64)).to(torch::kFloat);
  x = torch::conv2d(x, inv.view({c, c, 1, 1}));
  return (x - actnorm_bias.view({1, c, 1, 1})) * (-actnorm_log_scale).exp().view({1, c, 1, 1});
}

MultiScaleTransformImpl::MultiScaleTransformImpl(const ModelConfig &config) {
  for (int k = 0; k < config.levels; ++k) {
    auto list = register_module("level" + std::to_string(k), torch::nn::ModuleList());
    std::vector<InvertibleUnit> units;
    for (int u = 0; u < config.units[k]; ++u) {
      units.emplace_back(config.level_channels(k), config.coupling_width[k], config.coupling_clamp);
      list->push_back(units.back());
    }
    levels.push_back(std::move(units));
  }
}

// Channels [0, C/2) leave as the level's latent, [C/2, C) go one level down.
std::vector<torch::Tensor> MultiScaleTransformImpl::analysis(torch::Tensor x) {
  std::vector<torch::Tensor> latents;
  for (auto &units : levels) {
    x = torch::pixel_unshuffle(x, 2);
    for (auto &u : units) x = u->forward(x);
    auto halves = x.chunk(2, 1);
    latents.push_back(halves[0]);
    x = halves[1];
  }
  latents.push_back(x);
  return latents;
}

torch::Tensor MultiScaleTransformImpl::synthesis(const std::vector<torch::Tensor> &latents) {
  auto x = latents.back();
  for (int k = int(levels.size()) - 1; k >= 0; --k) x = synthesis_level(k, latents[k], x);
  return x;
}

torch::Tensor MultiScaleTransformImpl::synthesis_level(int k, const torch::Tensor &latent,
                                                       const torch::Tensor &continued) {
  auto x = torch::cat({latent, continued}, 1);
  for (auto it = levels[k].rbegin(); it != levels[k].rend(); ++it) x = (*it)->inverse(x);
  return torch::pixel_shuffle(x, 2);
}

ResidualPredictorImpl::ResidualPredictorImpl(int channels, int context_channels, int width) {
  int in = channels + context_channels;
  w1 = register_parameter("w1", torch::randn({width, in, 3, 3}) * std::sqrt(2.0 / (9 * in)));
  b1 = register_parameter("b1", torch::zeros({width}));
  w2 = register_parameter("w2", torch::zeros({channels, width, 3, 3}));
  b2 = register_parameter("b2", torch::zeros({channels}));
}

torch::Tensor ResidualPredictorImpl::forward(const torch::Tensor &latent, const torch::Tensor &context,
                                             const torch::Tensor &inv_gain) {
  auto in = context.defined() ? torch::cat({latent, context}, 1) : latent;
  auto r = conv(torch::relu(conv(in, w1, b1)), w2, b2);
  return latent + 0.5 * torch::tanh(r) * inv_gain;
}

PostFilterImpl::PostFilterImpl(int width) {
  w1 = register_parameter("w1", torch::randn({width, 3, 3, 3}) * std::sqrt(2.0 / 27));
  b1 = register_parameter("b1", torch::zeros({width}));
  w2 = register_parameter("w2", torch::zeros({3, width, 3, 3}));
  b2 = register_parameter("b2", torch::zeros({3}));
}

torch::Tensor PostFilterImpl::forward(const torch::Tensor &x) {
  return x + conv(torch::relu(conv(x, w1, b1)), w2, b2);
}

ContextNetImpl::ContextNetImpl(int channels, int context_channels, int width, bool causal, int depth) {
  // Random first layer, zero output layer: a new net predicts the constant
  // bo, yet its hidden units are live, so wo gets gradients. (With the first
  // layer at zero too, every gradient but bo's is zero and the net never
  // learns: msinn-small-v1 shipped with its context nets stuck there.)
  double in_std = std::sqrt(2.0 / std::max(1, context_channels + entropy::kSpatialNeighbours * channels));
  const int spatial_in = entropy::kSpatialNeighbours * channels;
  wc = register_parameter("wc", torch::randn({width, context_channels}) * in_std);
  ws = register_parameter("ws", torch::randn({width, spatial_in}) * in_std);
  if (causal) wa = register_parameter("wa", torch::randn({width, spatial_in}) * in_std);
  b1 = register_parameter("b1", torch::zeros({width}));
  b2 = register_parameter("b2", torch::zeros({width}));
  // Residual hidden layers start small: a net grown deeper computes almost
  // what it did (model_surgery.cpp), yet every unit gets gradients.
  for (int k = 1; k < depth; ++k) {
    wm.push_back(register_parameter("wm" + std::to_string(k), torch::randn({width, width}) * (0.02 * std::sqrt(2.0 / width))));
    bm.push_back(register_parameter("bm" + std::to_string(k), torch::zeros({width})));
  }
  wo = register_parameter("wo", torch::zeros({2 * channels, width}));
  bo = register_parameter("bo", torch::zeros({2 * channels}));
}

namespace {
// The spatial context of pass `pass` (coding_schedule.h) for every position
// at once: the four neighbours' planes of `t`, zero outside, concatenated
// in the integer kernel's order.
torch::Tensor spatial_context(const torch::Tensor &t, int pass) {
  const int64_t H = t.size(2), W = t.size(3), r = entropy::kSpatialReach;
  auto padded = torch::constant_pad_nd(t, {r, r, r, r});
  std::vector<torch::Tensor> planes;
  for (const entropy::NeighbourOffset &d : entropy::kSpatialContext[pass])
    planes.push_back(padded.narrow(2, r + d.dy, H).narrow(3, r + d.dx, W));
  return torch::cat(planes, 1);
}
}  // namespace

torch::Tensor second_pass_mask(int64_t height, int64_t width, const torch::TensorOptions &options) {
  // 1 where coding_pass(y, x) is 1.
  return torch::fmod(torch::arange(height, options).view({1, 1, height, 1}) +
                         torch::arange(width, options).view({1, 1, 1, width}),
                     2.0);
}

std::pair<torch::Tensor, torch::Tensor> ContextNetImpl::forward(const torch::Tensor &latent,
                                                                const torch::Tensor &context,
                                                                const torch::Tensor &causal) {
  const int64_t C = latent.size(1), H = latent.size(2), W = latent.size(3);
  auto second = second_pass_mask(H, W, latent.options());
  const int64_t width = b1.size(0), spatial_in = entropy::kSpatialNeighbours * C;
  auto h = b1.view({1, width, 1, 1}) +
           second * (b2.view({1, width, 1, 1}) +
                     torch::conv2d(spatial_context(latent * (1 - second), 1), ws.view({width, spatial_in, 1, 1})));
  if (context.defined() && wc.size(1) > 0) h = h + torch::conv2d(context, wc.view({width, wc.size(1), 1, 1}));
  if (wa.defined() && causal.defined())
    h = h + (1 - second) * torch::conv2d(spatial_context(causal * (1 - second), 0), wa.view({width, spatial_in, 1, 1}));
  h = torch::relu(h);
  for (size_t k = 0; k < wm.size(); ++k) h = h + torch::relu(torch::conv2d(h, wm[k].view({width, width, 1, 1}), bm[k]));
  auto out = torch::conv2d(h, wo.view({2 * C, width, 1, 1}), bo);
  return {out.narrow(1, 0, C), out.narrow(1, C, C)};
}

MsicModelImpl::MsicModelImpl(const ModelConfig &config_) : config(config_) {
  config.validate();
  transform = register_module("transform", MultiScaleTransform(config));
  auto lrp_holder = register_module("lrp", std::make_shared<torch::nn::Module>());
  auto ctx_holder = register_module("context", std::make_shared<torch::nn::Module>());
  for (int l = 0; l < config.latent_count(); ++l) {
    int c = config.latent_channels(l), cc = config.context_channels(l);
    lrp.emplace_back(nullptr);
    if (config.lrp_width[l] > 0) {
      lrp.back() = ResidualPredictor(c, cc, config.lrp_width[l]);
      lrp_holder->register_module(std::to_string(l), lrp.back());
    }
    context.emplace_back(c, config.context_net_inputs(l), config.context_width[l], config.causal_context != 0,
                         config.context_depth);
    ctx_holder->register_module(std::to_string(l), context.back());
  }
  if (config.postfilter_width > 0) post = register_module("post", PostFilter(config.postfilter_width));
  auto gain = register_module("gain", std::make_shared<torch::nn::Module>());
  int total = config.total_latent_channels();
  gain_log2 = gain->register_parameter("log2", torch::zeros({config.anchors, total}));
  gain_log2_scale = gain->register_parameter("log2_scale", torch::zeros({config.anchors, total}));
}

void MsicModelImpl::load(const ModelFile &file) {
  torch::NoGradGuard no_grad;
  for (auto &p : named_parameters()) {
    const NamedTensor &t = file.get(p.key());
    if (t.type != NamedTensor::Type::F32 || t.shape != p.value().sizes().vec())
      throw Error(MSIC_ERR_MODEL, "model tensor '" + p.key() + "' does not fit the model config");
    std::vector<float> values = t.f32.vector();
    p.value().copy_(torch::from_blob(values.data(), t.shape, torch::kFloat));
  }
}

void MsicModelImpl::store(ModelFile &file) {
  // The twin computes in float: integer convolutions' input steps, measured
  // on other weights, would be stale for these. A trained model is made
  // integer again by msic-model-init --integer.
  file.config = config;
  file.config.integer_convolutions = 0;
  for (auto it = file.tensors.begin(); it != file.tensors.end();) {
    const std::string &name = it->first;
    const std::string suffix = engine::kInputShiftSuffix;
    const bool shift = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    it = shift ? file.tensors.erase(it) : std::next(it);
  }
  for (auto &p : named_parameters()) {
    auto v = p.value().detach().to(torch::kCPU).contiguous();
    NamedTensor t;
    t.shape = v.sizes().vec();
    t.f32 = std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
    file.tensors[p.key()] = std::move(t);
  }
}

torch::Tensor context_features(const ModelConfig &config, const std::vector<torch::Tensor> &latents,
                               int latent, int64_t height, int64_t width, const torch::Tensor &continued) {
  std::vector<torch::Tensor> parts;
  for (int s : config.context_sources(latent)) {
    auto f = latents[s];
    int sh = config.latent_shift(s) - config.latent_shift(latent);
    if (sh > 0)
      f = f.repeat_interleave(1 << sh, 2).repeat_interleave(1 << sh, 3);
    parts.push_back(f.narrow(2, 0, height).narrow(3, 0, width));
  }
  if (continued.defined()) {
    const int64_t r = entropy::kSynthesisReach;
    auto padded = torch::constant_pad_nd(continued, {r, r, r, r});
    for (int64_t dy = -r; dy <= r; ++dy)
      for (int64_t dx = -r; dx <= r; ++dx) parts.push_back(padded.narrow(2, r + dy, height).narrow(3, r + dx, width));
  }
  return parts.empty() ? torch::Tensor() : torch::cat(parts, 1);
}

void MsicModelImpl::refine_latents(std::vector<torch::Tensor> &latents, const std::vector<float> &gains) {
  // The reciprocals on the host, as the codec has always computed them.
  std::vector<float> inv(gains.size());
  for (size_t i = 0; i < gains.size(); ++i) inv[i] = 1.0f / gains[i];
  auto inv_gains = torch::from_blob(inv.data(), {int64_t(inv.size())}, torch::kFloat).clone();
  refine_latents(latents, inv_gains.to(latents.front().device()));
}

void MsicModelImpl::refine_latents(std::vector<torch::Tensor> &latents, const torch::Tensor &inv_gains) {
  // Coarse to fine, so each prediction sees refined coarser latents.
  for (int l = config.latent_count() - 1; l >= 0; --l) latents[l] = refine_latent(l, latents, inv_gains);
}

torch::Tensor MsicModelImpl::refine_latent(int l, const std::vector<torch::Tensor> &latents,
                                           const torch::Tensor &inv_gains) {
  if (!lrp[l]) return latents[l];
  const int off = config.first_channel(l), c = config.latent_channels(l);
  auto ctx = context_features(config, latents, l, latents[l].size(2), latents[l].size(3));
  return lrp[l]->forward(latents[l], ctx, inv_gains.narrow(0, off, c).view({1, c, 1, 1}));
}

torch::Tensor MsicModelImpl::postfilter(const torch::Tensor &x) { return post ? post->forward(x) : x; }

}  // namespace msic::net
