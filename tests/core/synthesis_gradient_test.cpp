// The engine's synthesis backwards (what the encoder's latent refinement
// follows) against LibTorch's autograd through the twin: the same model
// file, the same latents, the gradient of the same weighted sum of the
// decoded image.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/kernels.h"
#include "engine/network_engine.h"
#include "network.h"
#include "parallel.h"
#include "planes_torch.h"

namespace {
using msic::Planes;

Planes random_planes(int c, int h, int w, uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-spread, spread);
  Planes p(c, h, w);
  for (float &v : p.values) v = u(rng);
  return p;
}

// A smooth image in [-0.5, 0.5] with some noise, whose latents are real ones.
Planes test_image(int h, int w) {
  Planes x = random_planes(3, h, w, 5, 0.05f);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int i = 0; i < w; ++i) x.plane(c)[size_t(y) * w + i] += 0.4f * std::sin(0.07f * (i + 2 * y) + c);
  return x;
}

// The norm of a - b relative to b's.
double difference(const Planes &a, const torch::Tensor &b) {
  const Planes r = msic::net::to_planes(b);
  EXPECT_EQ(r.values.size(), a.values.size());
  double d = 0, n = 1e-30;
  for (size_t i = 0; i < a.values.size(); ++i) {
    d += double(a.values[i] - r.values[i]) * (a.values[i] - r.values[i]);
    n += double(r.values[i]) * r.values[i];
  }
  return std::sqrt(d / n);
}

void compare_gradient(msic::ModelFile file, double tolerance) {
  const msic::ModelConfig &c = file.config;
  msic::engine::NetworkEngine engine(file);
  msic::net::MsicModel model(c);
  model->load(file);
  model->eval();
  const int m = c.tile_multiple();
  const Planes x = test_image(2 * m, 3 * m);
  // Latents as a decoder has them: the analysis's, on steps of anchor 3's gains.
  const int anchor = std::min(3, c.anchors - 1);
  std::vector<float> gains(size_t(c.total_latent_channels()));
  for (size_t i = 0; i < gains.size(); ++i) gains[i] = std::exp2(model->gain_log2[anchor][int64_t(i)].item<float>());
  std::vector<Planes> latents = engine.analysis(Planes(x));
  for (int l = 0; l < c.latent_count(); ++l)
    for (int ch = 0; ch < latents[l].channels; ++ch) {
      const float g = gains[size_t(c.first_channel(l) + ch)];
      float *p = latents[l].plane(ch);
      for (size_t i = 0; i < latents[l].plane_size(); ++i) p[i] = std::nearbyint(p[i] * g) / g;
    }

  msic::engine::NetworkEngine::SynthesisTape tape;
  const Planes image = engine.synthesis_for_gradient(latents, gains, tape);
  {  // the decoder's image, bit for bit
    std::vector<Planes> refined = latents;
    engine.refine_latents(refined, gains);
    Planes decoded = engine.synthesis(std::move(refined));
    engine.postfilter(decoded);
    ASSERT_EQ(decoded.values.size(), image.values.size());
    EXPECT_TRUE(std::equal(decoded.values.begin(), decoded.values.end(), image.values.begin()));
  }
  const Planes weights = random_planes(3, image.height, image.width, 9, 1.0f);
  const std::vector<Planes> grads = engine.latent_gradient(tape, weights);

  // The twin, as rate_model.cpp runs the decoder: coarsest first.
  const int L = c.latent_count();
  std::vector<torch::Tensor> known(L), refined(L);
  for (int l = 0; l < L; ++l) known[l] = msic::net::to_tensor(latents[l]).requires_grad_(true);
  std::vector<float> inverse(gains.size());
  for (size_t i = 0; i < gains.size(); ++i) inverse[i] = 1.0f / gains[i];
  const torch::Tensor inv_gains = torch::tensor(inverse);
  torch::Tensor continued;
  for (int l = L - 1; l >= 0; --l) {
    refined[l] = known[l];
    refined[l] = model->refine_latent(l, refined, inv_gains);
    if (l < c.levels) continued = model->transform->synthesis_level(l, refined[l], l == c.levels - 1 ? refined[L - 1] : continued);
  }
  const torch::Tensor x_hat = model->postfilter(continued);
  (x_hat * msic::net::to_tensor(weights)).sum().backward();
  ASSERT_EQ(int(grads.size()), L);
  for (int l = 0; l < L; ++l) EXPECT_LT(difference(grads[l], known[l].grad()), tolerance) << "latent " << l;
  // Bite: the gradient of another weighting differs.
  const std::vector<Planes> other = engine.latent_gradient(tape, random_planes(3, image.height, image.width, 10, 1.0f));
  EXPECT_GT(difference(other[0], known[0].grad()), 0.5f);
}

msic::ModelFile shipped() { return msic::ModelFile::load(MSIC_DEFAULT_MODEL_FILE); }
}  // namespace

// In float the two agree to float rounding (measured: 2-6e-7).
TEST(SynthesisGradient, IsAutogradsOnTheShippedModelInFloat) {
  msic::ModelFile file = shipped();
  file.config.integer_convolutions = 0;
  compare_gradient(file, 1e-5);
}

// With integer convolutions the engine's is the gradient of its own
// decoder: the activations it tapes are the integer forward's, its
// weights the steps. The twin is the float network those approximate
// (measured: 0.2-6% apart, by latent).
TEST(SynthesisGradient, IsCloseToAutogradsWithIntegerConvolutions) { compare_gradient(shipped(), 0.12); }

TEST(SynthesisGradient, IsAutogradsOnAFloatModelWithAPostfilter) {
  msic::ModelFile file = msic::ModelFile::load(MSIC_RETIRED_MODEL_DIR "/msinn-small-v3.msicw");
  file.config.postfilter_width = 8;  // v3 has none: random weights, zero in a new model
  torch::manual_seed(3);
  msic::net::MsicModel model(file.config);
  {
    torch::NoGradGuard no_grad;
    for (auto &p : model->named_parameters()) {
      if (!file.has(p.key())) {
        p.value().copy_(0.05 * torch::randn_like(p.value()));
        continue;
      }
      std::vector<float> values = file.get(p.key()).f32.vector();
      p.value().copy_(torch::from_blob(values.data(), p.value().sizes(), torch::kFloat));
    }
  }
  model->store(file);
  compare_gradient(file, 1e-5);
}

// The tape's forward runs each coupling net on the whole tile, where the
// decoder runs it in bands of rows (NetworkEngine::Unit::couple): on a
// tile that the decoder cuts into bands, and on two threads, its image is
// still the decoder's, bit for bit.
TEST(SynthesisGradient, TapesTheDecodersImageOnATileCutIntoBands) {
  const msic::ModelFile file = shipped();
  const msic::ModelConfig &c = file.config;
  const msic::engine::NetworkEngine engine(file);
  const Planes x = test_image(384, 512);  // level 0: 192 x 256, three bands of the inverse's 16 K pixels
  std::vector<float> gains(size_t(c.total_latent_channels()), 4.0f);
  std::vector<Planes> latents = engine.analysis(Planes(x));
  for (Planes &p : latents)
    for (float &v : p.values) v = std::nearbyint(v * 4.0f) / 4.0f;
  const msic::ThreadShare share(1, 2);
  for (const msic::ThreadShare *threads : {static_cast<const msic::ThreadShare *>(nullptr), &share}) {
    msic::engine::ThreadsScope scope(threads);
    msic::engine::NetworkEngine::SynthesisTape tape;
    const Planes image = engine.synthesis_for_gradient(latents, gains, tape);
    std::vector<Planes> refined = latents;
    engine.refine_latents(refined, gains);
    Planes decoded = engine.synthesis(std::move(refined));
    engine.postfilter(decoded);
    ASSERT_EQ(decoded.values.size(), image.values.size());
    EXPECT_TRUE(std::equal(decoded.values.begin(), decoded.values.end(), image.values.begin()))
        << (threads ? "two threads" : "one thread");
  }
}
