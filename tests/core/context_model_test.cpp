// The integer context model: what the encoder says the decoder will read
// is what the decoder reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "engine/network_engine.h"
#include "entropy/context_model.h"
#include "entropy/rans.h"
#include "model_file.h"
#include "parallel.h"
#include "test_support.h"

namespace {
using msic::Planes;

// The analysis of a noisy gradient, scaled so that the latents span many
// steps at the tested qualities (escapes included).
std::vector<Planes> some_latents(const msic::ModelFile &model, int h, int w, float scale) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> noise(-0.2f, 0.2f);
  Planes x(3, h, w);
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < x.plane_size(); ++i)
      x.plane(c)[i] = std::clamp(0.3f * std::sin(0.07f * float(i % w) + 0.03f * float(i / w) + c) + noise(rng), -0.5f, 0.5f);
  std::vector<Planes> latents = msic::engine::NetworkEngine(model).analysis(x);
  for (Planes &p : latents)
    for (float &v : p.values) v *= scale;
  return latents;
}
}  // namespace

TEST(ContextModel, EncoderKnowsWhatTheDecoderWillRead) {
  const msic::ModelFile model = msic::ModelFile::load(MSIC_DEFAULT_MODEL_FILE);
  const msic::entropy::ContextModel context(model);
  for (float scale : {1.0f, 40.0f}) {
    const std::vector<Planes> latents = some_latents(model, 64, 96, scale);
    for (uint32_t quality : {0u, 5800u, 10000u})
      for (auto rounding : {msic::entropy::Rounding::kNearest, msic::entropy::Rounding::kRateDistortion}) {
        const msic::entropy::QualityGains gains = context.gains(quality);
        msic::entropy::RansEncoder coder;
        std::vector<Planes> expected;
        context.encode(latents, gains, coder, rounding, &expected);
        const std::vector<uint8_t> stream = coder.finish();

        std::vector<Planes> decoded;
        for (const Planes &p : latents) decoded.emplace_back(p.channels, p.height, p.width);
        msic::entropy::RansDecoder reader(stream.data(), stream.size());
        context.decode(decoded, gains, reader);
        EXPECT_TRUE(reader.finished_cleanly());
        EXPECT_EQ(coder.escapes(), reader.escapes());
        if (scale > 1 && quality == 10000u) EXPECT_GT(coder.escapes(), 0u) << "no escaped symbol was tested";
        ASSERT_EQ(expected.size(), decoded.size());
        for (size_t l = 0; l < decoded.size(); ++l) {
          ASSERT_EQ(expected[l].values.size(), decoded[l].values.size());
          EXPECT_EQ(0, memcmp(expected[l].values.data(), decoded[l].values.data(), decoded[l].values.size() * sizeof(float)))
              << "latent " << l << ", scale " << scale << ", quality " << quality << ", rounding " << int(rounding);
        }
      }
  }
}

// Threads to spare split the encoder's independent passes into parts of
// rows, each queueing its symbols apart: the stream, the escapes and the
// decoder's latents must be those of one thread. At 384 x 256 the two
// finest latents' passes have 73 K and 37 K symbols: 3 and 2 parts. The
// shipped model has causal context (its second passes split), the random
// test model none (both passes split).
TEST(ContextModel, ThreadsQueueTheSameSymbols) {
  for (const std::string &path : {std::string(MSIC_DEFAULT_MODEL_FILE), test::random_model_path()}) {
    const msic::ModelFile model = msic::ModelFile::load(path);
    const msic::entropy::ContextModel context(model);
    const std::vector<Planes> latents = some_latents(model, 256, 384, 40.0f);
    const msic::entropy::QualityGains gains = context.gains(9000u);
    for (auto rounding : {msic::entropy::Rounding::kNearest, msic::entropy::Rounding::kRateDistortion}) {
      auto encode = [&](const msic::ThreadShare *share, std::vector<Planes> *dequantized, uint32_t *escapes) {
        msic::entropy::RansEncoder coder;
        context.encode(latents, gains, coder, rounding, dequantized, share);
        *escapes = coder.escapes();
        return coder.finish();
      };
      std::vector<Planes> one, three;
      uint32_t escapes_one = 0, escapes_three = 0;
      const std::vector<uint8_t> alone = encode(nullptr, &one, &escapes_one);
      msic::ThreadShare share(1, 3);
      const std::vector<uint8_t> split = encode(&share, &three, &escapes_three);
      EXPECT_EQ(alone, split) << path << ", rounding " << int(rounding);
      EXPECT_EQ(escapes_one, escapes_three);
      EXPECT_GT(escapes_one, 0u);
      for (size_t l = 0; l < one.size(); ++l)
        EXPECT_EQ(0, memcmp(one[l].values.data(), three[l].values.data(), one[l].values.size() * sizeof(float)))
            << path << ", latent " << l;
    }
  }
}
