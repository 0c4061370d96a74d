// msic-bench-refinement: what refining the latents by gradients (the twin's,
// codec-core/src/latent_refinement.h, and effort 4's on the engine,
// latent_annealing.h) saves in real files.
// Each image, at each quality anchor, is coded by the codec itself
// (TileCodec, one tile) as msic codes it and from the refined latents
// (LibTorch's float twin moves them), each at effort 1 and 2, and
// decoded; one JSON line per image and anchor: [bits per pixel of the
// payload, PSNR of the decoded 8-bit RGB] for each, and the refinement's
// seconds. bench/refinement.py runs it and reports BD-rates.
//
//   msic-bench-refinement [--model PATH] [--anchors 1,3,5,7] [--steps N] [--lr LR] [--threads T]
//                         [--lambda-low L] [--lambda-high L] [--no-context-gradients] [--engine-only]
//                         [--effort 4|5] IMAGE...
//
// --no-context-gradients: the twin's context nets' means and scales as
// constants (RefinementSettings::context_gradients): what their gradients
// add. Each line also has effort 4's payload, or effort 5's with --effort 5
// (eng_e4 or eng_e5: the engine's annealing, as msic runs it; --steps and
// --lr are the twin's); --engine-only leaves the twin out.
//
// The lambdas should be those the model was trained with (msinn-small-v4 to
// v6: 0.0004 and 1.2; tools/train/README.md): the refinement then moves each
// anchor's point along the model's own curve.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "bench_images.h"
#include "latent_refinement.h"
#include "planes_torch.h"
#include "rate_model.h"
#include "tile_codec.h"

namespace {

struct Coded {
  double bpp, psnr;
};

// Decodes a payload of `tile` and measures it.
Coded measure(const msic::TileCodec &codec, const std::vector<uint8_t> &payload, const msic::TileImage &tile,
              uint32_t quality_centi) {
  std::vector<uint8_t> out(size_t(tile.width) * tile.height * 3);
  codec.decode(payload, tile.width, tile.height, 3, quality_centi, out.data(), size_t(tile.width) * 3);
  double se = 0;
  for (uint32_t y = 0; y < tile.height; ++y)
    for (uint32_t x = 0; x < tile.width * 3; ++x) {
      const double d = double(tile.pixels[y * tile.stride + x]) - out[size_t(y) * tile.width * 3 + x];
      se += d * d;
    }
  const double pixels = double(tile.width) * tile.height;
  return {8.0 * double(payload.size()) / pixels, 10 * std::log10(255.0 * 255.0 * 3 * pixels / se)};
}

// The tile as msic codes it (the engine's analysis).
Coded code(const msic::TileCodec &codec, const msic::TileImage &tile, uint32_t quality_centi, int effort) {
  return measure(codec, codec.encode(tile, quality_centi, effort), tile, quality_centi);
}

// Latents made by the twin, coded by the codec.
Coded code(const msic::TileCodec &codec, std::vector<msic::Planes> latents, const msic::TileImage &tile,
           uint32_t quality_centi, int effort) {
  return measure(codec, codec.encode_latents(std::move(latents), tile, quality_centi, effort), tile, quality_centi);
}

std::vector<msic::Planes> to_planes(const std::vector<torch::Tensor> &latents) {
  std::vector<msic::Planes> out;
  for (const torch::Tensor &t : latents) out.push_back(msic::net::to_planes(t));
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  std::string model_path = MSIC_DEFAULT_MODEL_FILE;
  std::vector<int> anchors = {1, 3, 5, 7};
  std::vector<std::string> images;
  msic::net::RefinementSettings settings;
  int threads = 2;
  bool engine_only = false;
  int top_effort = 4;  // the engine's column
  double lambda_low = msic::net::kLambdaLow, lambda_high = msic::net::kLambdaHigh;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!strcmp(argv[i], "--model") && has_value) {
      model_path = argv[++i];
    } else if (!strcmp(argv[i], "--anchors") && has_value) {
      anchors.clear();
      std::stringstream list(argv[++i]);
      for (std::string a; std::getline(list, a, ',');) anchors.push_back(std::stoi(a));
    } else if (!strcmp(argv[i], "--steps") && has_value) {
      settings.steps = std::stoi(argv[++i]);
    } else if (!strcmp(argv[i], "--lr") && has_value) {
      settings.learning_rate = std::stod(argv[++i]);
    } else if (!strcmp(argv[i], "--effort") && has_value) {
      top_effort = std::stoi(argv[++i]);
      if (top_effort < 4 || top_effort > MSIC_EFFORT_MAX) {
        fprintf(stderr, "msic-bench-refinement: --effort: 4 .. %d (the efforts that anneal)\n", MSIC_EFFORT_MAX);
        return 2;
      }
    } else if (!strcmp(argv[i], "--engine-only")) {
      engine_only = true;
    } else if (!strcmp(argv[i], "--no-context-gradients")) {
      settings.context_gradients = false;
    } else if (!strcmp(argv[i], "--threads") && has_value) {
      threads = std::stoi(argv[++i]);
    } else if (!strcmp(argv[i], "--lambda-low") && has_value) {
      lambda_low = std::stod(argv[++i]);
    } else if (!strcmp(argv[i], "--lambda-high") && has_value) {
      lambda_high = std::stod(argv[++i]);
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: msic-bench-refinement [--model PATH] [--anchors 1,3,5,7] [--steps N] [--lr LR] "
                      "[--threads T]\n                             [--lambda-low L] [--lambda-high L] [--no-context-gradients] "
                      "[--engine-only] [--effort 4|5] IMAGE...\n");
      return 2;
    } else {
      images.push_back(argv[i]);
    }
  }
  if (VIPS_INIT(argv[0])) return 1;
  at::set_num_threads(threads);
  try {
    const msic::ModelFile file = msic::ModelFile::load(model_path);
    const msic::TileCodec codec(file);
    msic::net::MsicModel model(file.config);
    model->load(file);
    model->eval();
    const int A = file.config.anchors;
    for (int a : anchors)
      if (a < 0 || a >= A) throw std::runtime_error("--anchors: the model has anchors 0.." + std::to_string(A - 1));
    const uint32_t multiple = uint32_t(file.config.tile_multiple());
    for (const std::string &path : images) {
      const bench::Image im = bench::load(path.c_str());
      // Whole multiples of the coarsest level: the latents' sizes then need
      // no padding, in the twin as in the codec.
      const uint32_t W = uint32_t(im.width) / multiple * multiple, H = uint32_t(im.height) / multiple * multiple;
      const msic::TileImage tile{im.rgb.data(), size_t(im.width) * 3, W, H, 3};
      auto x = torch::from_blob(const_cast<uint8_t *>(im.rgb.data()), {im.height, im.width, 3}, torch::kUInt8)
                   .narrow(0, 0, H)
                   .narrow(1, 0, W)
                   .permute({2, 0, 1})
                   .to(torch::kFloat)
                   .unsqueeze(0) /
                   255.0 -
               0.5;
      for (int a : anchors) {
        const uint32_t quality_centi = uint32_t(std::lround(10000.0 * a / (A - 1)));
        // Effort 4 or 5: the engine's own annealing (latent_annealing.h).
        const double engine_start = bench::now();
        const std::vector<uint8_t> annealed = codec.encode(tile, quality_centi, top_effort);
        const double engine_seconds = bench::now() - engine_start;
        const Coded e4 = measure(codec, annealed, tile, quality_centi);
        if (engine_only) {
          const Coded c[2] = {code(codec, tile, quality_centi, 1), code(codec, tile, quality_centi, 2)};
          printf("{\"image\": \"%s\", \"anchor\": %d, \"orig_e1\": [%.5f, %.4f], \"orig_e2\": [%.5f, %.4f], "
                 "\"eng_e%d\": [%.5f, %.4f], \"engine_seconds\": %.1f}\n",
                 path.c_str(), a, c[0].bpp, c[0].psnr, c[1].bpp, c[1].psnr, top_effort, e4.bpp, e4.psnr,
                 engine_seconds);
          fflush(stdout);
          continue;
        }
        const double start = bench::now();
        const std::vector<torch::Tensor> refined =
            msic::net::refine_latents(model, x, a, msic::net::anchor_lambda(a, A, lambda_low, lambda_high), settings);
        const double seconds = bench::now() - start;
        const std::vector<msic::Planes> planes = to_planes(refined);
        Coded c[4] = {code(codec, tile, quality_centi, 1), code(codec, tile, quality_centi, 2),
                      code(codec, planes, tile, quality_centi, 1), code(codec, planes, tile, quality_centi, 2)};
        printf("{\"image\": \"%s\", \"anchor\": %d, \"orig_e1\": [%.5f, %.4f], \"orig_e2\": [%.5f, %.4f], "
               "\"ref_e1\": [%.5f, %.4f], \"ref_e2\": [%.5f, %.4f], \"seconds\": %.1f, "
               "\"eng_e%d\": [%.5f, %.4f], \"engine_seconds\": %.1f}\n",
               path.c_str(), a, c[0].bpp, c[0].psnr, c[1].bpp, c[1].psnr, c[2].bpp, c[2].psnr, c[3].bpp, c[3].psnr,
               seconds, top_effort, e4.bpp, e4.psnr, engine_seconds);
        fflush(stdout);
      }
    }
  } catch (const std::exception &e) {
    fprintf(stderr, "msic-bench-refinement: %s\n", e.what());
    return 1;
  }
  return 0;
}
