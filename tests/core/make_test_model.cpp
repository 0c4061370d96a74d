// msic-test-model OUT.msicw: a model with random weights everywhere (couplings,
// context nets, their residual hidden layers and their inputs from the
// synthesis, residual predictors), so
// that tests exercise every path with non-trivial numbers rather than the
// identity-initialised default.
#include <cstdio>

#include "entropy/cdf_tables.h"
#include "network.h"

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: msic-test-model OUT.msicw\n"), 2;
  torch::manual_seed(42);
  torch::NoGradGuard no_grad;
  msic::ModelConfig config;
  config.name = "msinn-test-random";
  config.context_depth = 2;  // so that the residual hidden layers run with random weights too
  config.synthesis_context = config.levels - 1;  // and every continued half as context
  msic::net::MsicModel model(config);
  for (auto &p : model->named_parameters()) {
    const std::string &n = p.key();
    auto &v = p.value();
    if (n.find("mix") != std::string::npos) {
      // Random orthogonal mixes: invertible and well conditioned.
      auto q = std::get<0>(torch::linalg_qr(torch::randn({v.size(0), v.size(0)})));
      v.copy_(q);
    } else if (n.find("gain.log2_scale") != std::string::npos) {
      v.uniform_(-0.2, 0.2);
    } else if (n.find("gain.log2") != std::string::npos) {
      for (int a = 0; a < config.anchors; ++a) v[a].fill_(0.5 + 6.5 * a / (config.anchors - 1));
      v.add_(torch::rand_like(v) * 0.3);
    } else if (n.find("context.") == 0) {
      v.normal_(0, n.find(".b") != std::string::npos ? 0.5 : 0.05);
    } else {
      v.normal_(0, 0.02);  // couplings, actnorms, residual predictors
    }
  }
  msic::ModelFile file;
  model->store(file);
  msic::entropy::CdfTables::build(config).store(file);
  file.save(argv[1]);
  return 0;
}
