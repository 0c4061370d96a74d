// msic-model-init: writes an untrained model whose transform is an
// orthonormal multi-scale (colour + Haar) transform and whose entropy model
// knows each latent channel's spread, measured on a few images. The codec
// works with it, just less well than with trained weights; it is also the
// trainer's starting point.
//
//   msic-model-init OUT.msicw [--config FILE] IMAGE...
//   msic-model-init OUT.msicw --grow FROM.msicw [--predict-levels 0,1] [--causal-context]
//                   [--synthesis-context N] [--context-width W0,W1,...] [--context-depth D]
//                   [--coupling-width W0,W1,...]
//   msic-model-init OUT.msicw --integer FROM.msicw [--name NAME] IMAGE...
//
// --grow adds a predict unit in front of each listed level of a (trained)
// model (none with --predict-levels ""), gives context nets whose weights
// are all zero a random first layer, and with --causal-context lets the
// anchors see the anchors decoded before them (ModelConfig::causal_context;
// new weights start small); --context-width and --context-depth make the
// context nets wider (one width per latent, fine to coarse) and deeper
// (ModelConfig::context_depth), and --coupling-width the transform's
// couplings (one width per level, fine to coarse); --synthesis-context N lets
// the N coarsest latents with a continued half see it as the decoder makes
// it (ModelConfig::synthesis_context; new weights start at zero). All but
// unchanging what the model computes, so training goes on from there. A grown model is a
// float one (--integer after training makes it integer again).
//
// --integer makes FROM's 3x3 convolutions integer ones (ModelConfig::
// integer_convolutions, engine/kernels.h): each one's input step is the
// smallest power of two that keeps the largest input it saw, coding and
// decoding the images at model qualities 0, 50 and 100 in float, within
// 13 bits; a convolution with too many inputs for exact int32 sums stays
// float. The weights are unchanged (the engine rounds them at load).
#include <vips/vips.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>

#include "engine/kernels.h"
#include "entropy/cdf_tables.h"
#include "model_surgery.h"
#include "network.h"
#include "sha256.h"
#include "tile_codec.h"

using namespace msic;

namespace {

// Orthonormal 4x4 Haar on a 2x2 block (pixel_unshuffle order: (0,0) (0,1)
// (1,0) (1,1)): LL, then three details.
const float kHaar[4][4] = {{0.5f, 0.5f, 0.5f, 0.5f},
                           {0.5f, 0.5f, -0.5f, -0.5f},
                           {0.5f, -0.5f, 0.5f, -0.5f},
                           {0.5f, -0.5f, -0.5f, 0.5f}};

// Builds the first unit's mix for a level: Haar on each input channel's
// 2x2 block (after an orthonormal luma/chroma rotation at level 0), then
// orders outputs so that the least important half leaves as the latent.
// `importance` tracks, per channel that continues, how much it matters.
torch::Tensor level_mix(int level, std::vector<double> &importance) {
  int in = int(importance.size()), C = 4 * in;
  torch::Tensor colour = torch::eye(in);
  if (level == 0) {
    const float s3 = 1 / std::sqrt(3.f), s2 = 1 / std::sqrt(2.f), s6 = 1 / std::sqrt(6.f);
    colour = torch::tensor({s3, s3, s3, s2, 0.f, -s2, s6, -2 * s6, s6}).view({3, 3});
  }
  std::vector<std::pair<double, int>> rank;  // (importance, output row)
  auto rows = torch::zeros({C, C});
  for (int i = 0; i < in; ++i)
    for (int b = 0; b < 4; ++b) {
      int row = i * 4 + b;
      for (int j = 0; j < in; ++j)
        for (int p = 0; p < 4; ++p) rows[row][j * 4 + p] = colour[i][j].item<float>() * kHaar[b][p];
      rank.push_back({importance[i] * (b == 0 ? 4.0 : 1.0), row});
    }
  std::stable_sort(rank.begin(), rank.end(), [](auto &a, auto &b) { return a.first < b.first; });
  auto mix = torch::zeros({C, C});
  std::vector<double> next;
  for (int k = 0; k < C; ++k) {
    mix[k] = rows[rank[k].second];
    if (k >= C / 2) next.push_back(rank[k].first);
  }
  importance = next;
  return mix;
}

std::vector<float> load_image(const char *path) {
  VipsImage *im = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
  if (!im) throw std::runtime_error(std::string("cannot read ") + path + ": " + vips_error_buffer());
  VipsImage *rgb = nullptr;
  if (vips_colourspace(im, &rgb, VIPS_INTERPRETATION_sRGB, NULL)) throw std::runtime_error(vips_error_buffer());
  g_object_unref(im);
  VipsImage *flat = rgb;
  if (vips_image_get_bands(rgb) == 4) vips_extract_band(rgb, &flat, 0, "n", 3, NULL), g_object_unref(rgb);
  VipsImage *u8 = nullptr;
  vips_cast_uchar(flat, &u8, NULL);
  g_object_unref(flat);
  int w = vips_image_get_width(u8) / 16 * 16, h = vips_image_get_height(u8) / 16 * 16;
  size_t n;
  auto *px = static_cast<uint8_t *>(vips_image_write_to_memory(u8, &n));
  int W = vips_image_get_width(u8);
  g_object_unref(u8);
  std::vector<float> planar(size_t(3) * h * w + 2);
  planar[0] = float(w), planar[1] = float(h);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) planar[2 + (size_t(c) * h + y) * w + x] = px[(size_t(y) * W + x) * 3 + c] / 255.f - 0.5f;
  g_free(px);
  return planar;
}

// Saves, then reads the file back (so what is reported is what was written).
void save_and_report(const ModelFile &file, const char *path) {
  file.save(path);
  auto again = ModelFile::load(path);
  printf("wrote %s (%s): %zu tensors, sha256 %s\n", path, again.config.name.c_str(), again.tensors.size(),
         to_hex(again.hash.data(), 32).c_str());
}

// The largest input magnitude of every 3x3 convolution, by weights' name.
struct InputRanges {
  std::mutex lock;
  std::map<std::string, float> largest;
  static void observe(const engine::Conv &conv, float value, void *self) {
    auto *r = static_cast<InputRanges *>(self);
    std::lock_guard<std::mutex> hold(r->lock);
    float &m = r->largest[conv.name];
    m = std::max(m, value);
  }
};

ModelFile integer_model(const ModelFile &from, const std::vector<const char *> &images, const std::string &name) {
  if (from.config.integer_convolutions) throw std::runtime_error("the model's convolutions are integer already");
  if (images.empty()) throw std::runtime_error("--integer needs images to measure the convolutions' inputs on");
  InputRanges ranges;
  {
    const TileCodec codec(from);
    engine::observe_input_ranges(&InputRanges::observe, &ranges);
    for (const char *path : images) {
      const std::vector<float> planar = load_image(path);
      const uint32_t w = uint32_t(planar[0]), h = uint32_t(planar[1]);
      std::vector<uint8_t> rgb(size_t(w) * h * 3), decoded(rgb.size());
      for (int c = 0; c < 3; ++c)
        for (size_t i = 0; i < size_t(w) * h; ++i)
          rgb[i * 3 + c] = uint8_t(std::lround((planar[2 + size_t(c) * w * h + i] + 0.5f) * 255.0f));
      for (uint32_t quality : {0u, 5000u, 10000u}) {
        const std::vector<uint8_t> payload = codec.encode({rgb.data(), size_t(w) * 3, w, h, 3}, quality);
        codec.decode(payload, w, h, 3, quality, decoded.data(), size_t(w) * 3);
      }
    }
    engine::observe_input_ranges(nullptr, nullptr);
  }
  ModelFile out = from;
  out.config.integer_convolutions = 1;
  out.config.name = name.empty() ? from.config.name + "-int" : name;
  for (const auto &[conv, largest] : ranges.largest) {
    const NamedTensor &weights = from.get(conv);
    const double products = double(weights.numel()) / double(weights.shape[0]);
    if (!engine::integer_sums_fit(products)) {
      printf("%s: %.0f products per output, stays float\n", conv.c_str(), products);
      continue;
    }
    if (!std::isfinite(largest)) throw std::runtime_error(conv + ": an input overflowed on the images");
    int shift = 12;  // (an input never seen but zeros)
    if (largest > 0)
      shift = int(std::clamp(std::floor(std::log2(double(engine::kActivationLimit) / double(largest))), 0.0, 30.0));
    NamedTensor t;
    t.type = NamedTensor::Type::I32;
    t.shape = {1};
    t.i32 = {shift};
    out.tensors[conv + engine::kInputShiftSuffix] = t;
    printf("%s: largest input %.4g, steps of 2^-%d\n", conv.c_str(), double(largest), shift);
  }
  return out;
}

// A whole number, all of `text`, for `option`'s message.
int parse_int(const std::string &text, const std::string &option) {
  int v = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    throw std::runtime_error(option + ": '" + text + "' is not a whole number");
  return v;
}

// A comma-separated list of whole numbers ("" is none; no empty fields).
std::vector<int> parse_ints(const std::string &list, const std::string &option) {
  std::vector<int> out;
  if (list.empty()) return out;
  size_t at = 0;
  for (;;) {
    const size_t comma = list.find(',', at);
    out.push_back(parse_int(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at), option));
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

const char kUsage[] =
    "usage: msic-model-init OUT.msicw [--config FILE] IMAGE...\n"
    "       msic-model-init OUT.msicw --grow FROM.msicw [--predict-levels 0,1] [--causal-context]\n"
    "                       [--synthesis-context N] [--context-width W0,W1,...] [--context-depth D]\n"
    "                       [--coupling-width W0,W1,...]\n"
    "       msic-model-init OUT.msicw --integer FROM.msicw [--name NAME] IMAGE...\n";

}  // namespace

int main(int argc, char **argv) {
  if (VIPS_INIT(argv[0])) return 1;
  const std::string first = argc > 1 ? argv[1] : "";
  if (first == "--help" || first == "-h") {
    printf("%s", kUsage);
    return 0;
  }
  // OUT comes first: an option there would become a model file's name.
  if (argc < 2 || first.empty() || first[0] == '-') {
    fprintf(stderr, "%s", kUsage);
    return 2;
  }
  try {
    torch::manual_seed(1);
    torch::NoGradGuard no_grad;
    ModelConfig config;
    std::vector<const char *> images;
    std::string grow_from, integer_from, name, predict_levels = "0,1";
    net::Growth growth;
    for (int i = 2; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--grow") {
        grow_from = value();
      } else if (arg == "--integer") {
        integer_from = value();
      } else if (arg == "--name") {
        name = value();
      } else if (arg == "--causal-context") {
        growth.causal_context = true;
      } else if (arg == "--synthesis-context") {
        growth.synthesis_context = parse_int(value(), arg);
        if (growth.synthesis_context < 1) throw std::runtime_error("--synthesis-context must be at least 1");
      } else if (arg == "--context-width") {
        growth.context_width = parse_ints(value(), arg);
      } else if (arg == "--context-depth") {
        growth.context_depth = parse_int(value(), arg);
        if (growth.context_depth < 1) throw std::runtime_error("--context-depth must be at least 1");
      } else if (arg == "--coupling-width") {
        growth.coupling_width = parse_ints(value(), arg);
      } else if (arg == "--predict-levels") {
        predict_levels = value();
      } else if (arg == "--config") {
        const std::string path = value();
        std::ifstream f(path);
        if (!f) throw std::runtime_error("cannot read config '" + path + "'");
        std::stringstream ss;
        ss << f.rdbuf();
        config = ModelConfig::from_text(ss.str());
      } else if (arg.size() > 1 && arg[0] == '-') {
        fprintf(stderr, "msic-model-init: unknown option '%s'\n%s", arg.c_str(), kUsage);
        return 2;
      } else {
        images.push_back(argv[i]);
      }
    }
    if (!integer_from.empty()) {
      save_and_report(integer_model(ModelFile::load(integer_from), images, name), argv[1]);
      return 0;
    }
    if (grow_from.empty() && (growth.causal_context || growth.synthesis_context != 0 || !growth.context_width.empty() ||
                              growth.context_depth || !growth.coupling_width.empty()))
      throw std::runtime_error(
          "--causal-context, --synthesis-context, --context-width, --context-depth and --coupling-width go with --grow");
    if (!grow_from.empty()) {
      growth.predict_levels = parse_ints(predict_levels, "--predict-levels");
      save_and_report(net::grow(ModelFile::load(grow_from), growth), argv[1]);
      return 0;
    }
    net::MsicModel model(config);
    std::vector<double> importance = {2.0, 1.0, 1.0};  // luma matters more than chroma
    for (int k = 0; k < config.levels; ++k)
      if (!model->transform->levels[k].empty())
        model->transform->levels[k][0]->mix.copy_(level_mix(k, importance));

    // Gains: log2 from -1.5 (model quality 0: step 2.8, about 0.1 bpp) to
    // 6.5 (model quality 100: step 1/90, about 48 dB), so that model quality
    // 75 lands near 39 dB. (The user's Q maps to the model's quality through
    // codec-core/src/api/quality_scale.cpp, calibrated per default model.)
    for (int a = 0; a < config.anchors; ++a)
      model->gain_log2[a].fill_(-1.5 + 8.0 * a / (config.anchors - 1));

    // Spread of each latent channel on the sample images.
    int L = config.latent_count();
    std::vector<torch::Tensor> sum(L), sumsq(L);
    double count[8] = {};
    for (const char *path : images) {
      auto planar = load_image(path);
      int w = int(planar[0]), h = int(planar[1]);
      auto x = torch::from_blob(planar.data() + 2, {1, 3, h, w}, torch::kFloat);
      auto latents = model->transform->analysis(x);
      for (int l = 0; l < L; ++l) {
        auto s = latents[l].sum({0, 2, 3}), q = latents[l].pow(2).sum({0, 2, 3});
        sum[l] = sum[l].defined() ? sum[l] + s : s;
        sumsq[l] = sumsq[l].defined() ? sumsq[l] + q : q;
        count[l] += double(latents[l].size(2) * latents[l].size(3));
      }
    }
    for (int l = 0; l < L; ++l) {
      int c = config.latent_channels(l);
      auto &bo = model->context[l]->bo;
      if (!sum[l].defined()) {
        bo.narrow(0, c, c).fill_(-3.0);  // no images: a guess
        continue;
      }
      auto mean = sum[l] / count[l];
      auto var = (sumsq[l] / count[l] - mean.pow(2)).clamp_min(1e-8);
      bo.narrow(0, 0, c).copy_(mean);
      bo.narrow(0, c, c).copy_(0.5 * var.log2());
    }
    ModelFile file;
    model->store(file);
    file.config.name = "msinn-small-untrained";
    entropy::CdfTables::build(config).store(file);
    save_and_report(file, argv[1]);
  } catch (const std::exception &e) {
    fprintf(stderr, "msic-model-init: %s\n", e.what());
    return 1;
  }
  return 0;
}
