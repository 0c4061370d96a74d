#include "model_surgery.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "entropy/cdf_tables.h"
#include "network.h"

namespace msic::net {
namespace {
bool is_dead(const ContextNet &n) {
  return n->wc.abs().sum().item<double>() == 0 && n->ws.abs().sum().item<double>() == 0 &&
         n->wo.abs().sum().item<double>() == 0;
}
// A layer h = h + ReLU(W h + b) (a context net's wmK, a coupling's w2):
// when it grows wider, its old units must read none of the new ones.
bool is_residual_layer(const std::string &name) {
  for (const char *pattern : {"context.%*d.wm%*d%n", "transform.level%*d.%*d.w2%n"}) {
    int end = -1;  // %n: how far the whole pattern matched
    sscanf(name.c_str(), pattern, &end);
    if (end == int(name.size())) return true;
  }
  return false;
}

// Checks a list of new widths against the old ones: one per item, none
// narrower.
void check_wider(const std::vector<int> &wider, const std::vector<int> &was, const std::string &option,
                 const char *items) {
  if (wider.size() != was.size())
    throw std::runtime_error(option + ": the model has " + std::to_string(was.size()) + " " + items);
  for (size_t i = 0; i < wider.size(); ++i)
    if (wider[i] < was[i])
      throw std::runtime_error(option + ": a net can only grow wider (" + std::to_string(wider[i]) + " < " +
                               std::to_string(was[i]) + " at " + std::to_string(i) + ")");
}
}  // namespace

// Returns `from` with a new first unit at each of `levels`. The units a
// level starts with put the half that leaves as the latent first, where the
// coupling only conditions on it: the latent is never predicted from its
// neighbours (the lifting scheme's predict step), so it stays a 1x1 mix of
// the 2x2 block, like Haar details. The new unit takes the old first unit's
// ActNorm and its mix with the halves swapped, and its coupling starts at
// zero; the old unit keeps an identity ActNorm and a swap as its mix. So
// new(x) == old(x) at first, and training can learn the prediction.
//
// Wider context nets and couplings keep the old hidden units first; the new
// ones get a random first layer and a zero column in the output layer, so
// they change nothing until trained. Deeper context nets add residual
// hidden layers (h = h + ReLU(W h + b)) with small random weights
// (ContextNet).
ModelFile grow(const ModelFile &from, const Growth &growth) {
  torch::NoGradGuard no_grad;
  MsicModel old(from.config);
  old->load(from);
  ModelConfig config = from.config;
  const std::vector<int> &levels = growth.predict_levels;
  const bool causal = growth.causal_context;
  if (causal && config.causal_context) throw std::runtime_error("--causal-context: the model has it already");
  if (causal) config.causal_context = 1;
  const bool synthesis = growth.synthesis_context != 0;
  if (synthesis && growth.synthesis_context <= config.synthesis_context)
    throw std::runtime_error("--synthesis-context: the model has it already for " +
                             std::to_string(config.synthesis_context) + " latents");
  if (synthesis && growth.synthesis_context > config.levels - 1)
    throw std::runtime_error("--synthesis-context: the model has " + std::to_string(config.levels - 1) +
                             " latents with a continued half");
  if (synthesis) config.synthesis_context = growth.synthesis_context;
  if (!growth.context_width.empty()) {
    check_wider(growth.context_width, config.context_width, "--context-width", "latents");
    config.context_width = growth.context_width;
  }
  if (!growth.coupling_width.empty()) {
    check_wider(growth.coupling_width, config.coupling_width, "--coupling-width", "levels");
    config.coupling_width = growth.coupling_width;
  }
  if (growth.context_depth) {
    if (growth.context_depth < config.context_depth) throw std::runtime_error("--context-depth: a net can only grow deeper");
    config.context_depth = growth.context_depth;
  }
  config.validate();
  for (int k : levels) {
    if (k < 0 || k >= config.levels) throw std::runtime_error("--predict-levels: no level " + std::to_string(k));
    if (std::count(levels.begin(), levels.end(), k) > 1)
      throw std::runtime_error("--predict-levels: level " + std::to_string(k) + " named twice");
    config.units[k] += 1;
  }
  MsicModel grown(config);  // new units: random hidden layers, zero last layer
  int revived = 0;  // context nets brought back to life
  auto old_params = old->named_parameters();
  for (auto &p : grown->named_parameters()) {
    std::string name = p.key();
    int k = -1, u = -1;
    char rest[64];
    if (sscanf(name.c_str(), "transform.level%d.%d.%63s", &k, &u, rest) == 3 &&
        std::find(levels.begin(), levels.end(), k) != levels.end()) {
      if (u == 0) continue;  // the new unit (set below)
      name = "transform.level" + std::to_string(k) + "." + std::to_string(u - 1) + "." + rest;
    }
    // A context net whose layers are all zero never learns (see ContextNet):
    // it keeps the new model's random first layer, which changes nothing
    // while its output layer is zero.
    if (sscanf(name.c_str(), "context.%d.%63s", &k, rest) == 2 && (std::string(rest) == "wc" || std::string(rest) == "ws") &&
        is_dead(old->context[k])) {
      revived += std::string(rest) == "wc";
      continue;
    }
    // New causal weights: small, so that the trained output layer sees
    // almost the hidden units it was trained with, yet not zero, so that
    // every hidden unit can learn to use them.
    if (causal && sscanf(name.c_str(), "context.%d.%63s", &k, rest) == 2 && std::string(rest) == "wa") {
      p.value().mul_(0.05);
      continue;
    }
    // A new hidden layer (context.L.wmK or bmK, K at or past the old
    // depth) stays as made; any other name must be the old model's.
    int layer = 0;
    char kind = 0;
    if (sscanf(name.c_str(), "context.%d.%cm%d", &k, &kind, &layer) == 3 && (kind == 'w' || kind == 'b') &&
        layer >= from.config.context_depth)
      continue;
    const torch::Tensor *was = old_params.find(name);
    if (!was) throw std::runtime_error("grow: the model has no tensor '" + name + "'");
    // A wider net: the old weights in the leading rows and columns (a new
    // output layer's columns are zero, so new hidden units change nothing);
    // an old residual layer's old units read none of the new ones.
    torch::Tensor into = p.value();
    // The synthesis's channels, the context's last, start at zero: the
    // model computes what it did, and the weights still get gradients,
    // since the hidden units they feed are live.
    if (synthesis && sscanf(name.c_str(), "context.%d.%63s", &k, rest) == 2 && std::string(rest) == "wc" &&
        was->size(1) < into.size(1))
      into.narrow(1, was->size(1), into.size(1) - was->size(1)).zero_();
    if (is_residual_layer(name) && was->size(1) < into.size(1))
      into.narrow(0, 0, was->size(0)).narrow(1, was->size(1), into.size(1) - was->size(1)).zero_();
    for (int64_t d = 0; d < was->dim(); ++d) into = into.narrow(d, 0, was->size(d));
    into.copy_(*was);
  }
  for (int k : levels) {
    auto &fresh = grown->transform->levels[k][0], &first = grown->transform->levels[k][1];
    const auto &was = old->transform->levels[k][0];
    int c = int(was->mix.size(0)), h = c / 2;
    auto swap = torch::cat({torch::arange(h, c), torch::arange(0, h)});
    fresh->actnorm_log_scale.copy_(was->actnorm_log_scale);
    fresh->actnorm_bias.copy_(was->actnorm_bias);
    fresh->mix.copy_(was->mix.index_select(0, swap));
    first->actnorm_log_scale.zero_();
    first->actnorm_bias.zero_();
    first->mix.copy_(torch::eye(c).index_select(0, swap));
  }
  if (revived) printf("context nets brought back to life: %d of %d\n", revived, config.latent_count());
  // The twin stores no input steps: they are measured on the weights, which
  // training changes.
  if (from.config.integer_convolutions)
    printf("the grown model's convolutions are float: msic-model-init --integer makes them integer again\n");
  ModelFile file;
  grown->store(file);
  const bool context = !growth.context_width.empty() || growth.context_depth;
  file.config.name = from.config.name + (causal                           ? "-causal"
                                         : synthesis                      ? "-synthesis"
                                         : context                        ? "-context"
                                         : !growth.coupling_width.empty() ? "-wider"
                                         : levels.empty()                 ? "-live"
                                                                          : "-predict");
  entropy::CdfTables::build(config).store(file);
  return file;
}

}  // namespace msic::net
