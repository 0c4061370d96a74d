// msic-bench-engine: the network alone, in one thread, on the project's
// inference engine and on LibTorch, measured in the same run: encoder side
// (analysis) and decoder side (residual prediction, synthesis, post-filter)
// on 512 x 512 tiles of the given images (or a synthetic tile), with the
// largest difference between the two outputs.
//
//   msic-bench-engine [--repeat R] [--model PATH]
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/network_engine.h"
#include "network.h"
#include "planes_torch.h"

namespace {
using msic::Planes;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Planes tile(int size) {
  Planes x(3, size, size);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < size; ++y)
      for (int i = 0; i < size; ++i)
        x.plane(c)[size_t(y) * size + i] = 0.45f * std::sin(0.031f * i + 0.017f * y * (c + 1)) * std::cos(0.002f * i * y);
  return x;
}

float max_diff(const Planes &a, const torch::Tensor &b) {
  const Planes r = msic::net::to_planes(b);
  float m = 0;
  for (size_t i = 0; i < a.values.size(); ++i) m = std::max(m, std::fabs(a.values[i] - r.values[i]));
  return m;
}
}  // namespace

int main(int argc, char **argv) {
  int repeat = 3;
  std::string model_path = MSIC_DEFAULT_MODEL_FILE;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
    else {
      fprintf(stderr, "usage: msic-bench-engine [--repeat R] [--model PATH]\n");
      return 2;
    }
  }
  at::set_num_threads(1);
  torch::NoGradGuard no_grad;
  const msic::ModelFile file = msic::ModelFile::load(model_path);
  msic::net::MsicModel model(file.config);
  model->load(file);
  model->eval();
  const msic::engine::NetworkEngine engine(file);
  const msic::ModelConfig &c = file.config;
  const double enc_macs = c.transform_macs_per_pixel();
  const double dec_macs = c.transform_macs_per_pixel() + c.lrp_macs_per_pixel() + c.postfilter_macs_per_pixel();
  const int size = 512;
  const double mp = double(size) * size / 1e6;
  const Planes x = tile(size);
  std::vector<float> gains(c.total_latent_channels(), 1.0f);

  printf("model %s: analysis %.0f MAC/px, decoder network %.0f MAC/px; one thread, %d x %d tile, best of %d\n",
         c.name.c_str(), enc_macs, dec_macs, size, size, repeat);
  double best[2][2] = {{1e9, 1e9}, {1e9, 1e9}};  // [engine, torch][analysis, decoder]
  float diff_analysis = 0, diff_decoder = 0;
  for (int r = 0; r < repeat; ++r) {
    auto t = Clock::now();
    std::vector<Planes> latents = engine.analysis(x);
    best[0][0] = std::min(best[0][0], seconds_since(t));
    t = Clock::now();
    std::vector<torch::Tensor> t_latents = model->transform->analysis(msic::net::to_tensor(x));
    best[1][0] = std::min(best[1][0], seconds_since(t));
    for (size_t l = 0; l < latents.size(); ++l) diff_analysis = std::max(diff_analysis, max_diff(latents[l], t_latents[l]));

    t = Clock::now();
    engine.refine_latents(latents, gains);
    Planes y = engine.synthesis(latents);
    engine.postfilter(y);
    best[0][1] = std::min(best[0][1], seconds_since(t));
    t = Clock::now();
    model->refine_latents(t_latents, gains);
    torch::Tensor ty = model->postfilter(model->transform->synthesis(t_latents));
    best[1][1] = std::min(best[1][1], seconds_since(t));
    diff_decoder = std::max(diff_decoder, max_diff(y, ty));
  }
  const char *side[2] = {"analysis (encoder)", "decoder network"};
  const double macs[2] = {enc_macs, dec_macs};
  printf("| | engine ms | engine MP/s | engine GMAC/s | LibTorch ms | LibTorch MP/s | LibTorch GMAC/s | engine / LibTorch |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (int s = 0; s < 2; ++s)
    printf("| %s | %.1f | %.2f | %.2f | %.1f | %.2f | %.2f | %.2fx |\n", side[s], best[0][s] * 1e3, mp / best[0][s],
           mp * macs[s] / best[0][s] / 1e3, best[1][s] * 1e3, mp / best[1][s], mp * macs[s] / best[1][s] / 1e3,
           best[1][s] / best[0][s]);
  printf("largest difference engine vs LibTorch: analysis %.3g, decoded image %.3g (image range 1.0)\n",
         diff_analysis, diff_decoder);
  return 0;
}
