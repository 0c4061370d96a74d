#include "tile_codec.h"

#include <algorithm>
#include <cmath>

#include "entropy/coding_schedule.h"
#include "entropy/rans.h"
#include "errors.h"
#include "latent_annealing.h"
#include "parallel.h"
#include "round_even.h"
#include "tile_payload.h"

namespace msic {
namespace {
using format::TilePayloadHeader;
static_assert(TilePayloadHeader::kMaxParts == size_t(entropy::kMaxCodingParts), "the format's limit is the schedule's");

uint32_t padded(uint32_t v, uint32_t multiple) { return (v + multiple - 1) / multiple * multiple; }

// The border boost of effort 2 and up (MSIC.md, payload version 4), in
// eighths of a doubling of the gains, on the latents' outer ring where a
// tile meets another: the pixels next to a tile border see half the
// context and decoded worse than the rest; the boost buys them back with
// bits there. Measured (bench/seams.py, 6 Kodak images, border / other MSE
// and the step across a border; Kodak BD-rate in PSNR at 512-px tiles):
// 3 eighths (1.30x) at Q20-75: 0.92-1.03 and 1.10-1.22 (none: 1.28-1.39
// and 1.56-1.80), +0.27%; 2 eighths leaves 1.00-1.14; 5 eighths (1.54x)
// overshoots there (0.74-0.85, +0.67%) but is what Q0 needs (0.92-0.98,
// the step 1.34-1.48; 8 eighths 0.75-0.80 and 1.09-1.31, +1.70%). So 6 at
// the model's quality 0, falling to 3 at its third anchor (28.57, about Q18).
uint8_t border_boost_eighths(uint32_t quality_centi) {
  constexpr uint32_t kFrom = 2857;
  if (quality_centi >= kFrom) return 3;
  return uint8_t(3 + (3 * (kFrom - quality_centi) + kFrom / 2) / kFrom);
}

// Effort 1 (the first encoder's choices) boosts nothing.
uint8_t boosted_sides(const TileImage &tile, int effort) { return effort >= 2 ? tile.inner_sides : 0; }

// A reconstructed sample (0..1 scale minus 0.5) as a byte: round half to
// even, then clamp (clamping first to [0, 255] gives the same byte); NaN
// (a crafted tile) becomes 0 rather than an undefined cast.
float to_byte_scale(float v) {
  const float s = (v + 0.5f) * 255.0f;
  return std::isnan(s) ? 0.0f : round_even(std::clamp(s, 0.0f, 255.0f));
}
}  // namespace

TileCodec::TileCodec(const ModelFile &model) : TileCodec(model, entropy::ContextModel(model)) {}

TileCodec::TileCodec(const ModelFile &model, entropy::ContextModel context)
    : network_(model), context_(std::move(context)), tile_multiple_(uint32_t(model.config.tile_multiple())) {}

Planes TileCodec::to_planes(const TileImage &t) const {
  const uint32_t W = padded(t.width, tile_multiple_), H = padded(t.height, tile_multiple_);
  Planes x(3, int(H), int(W));
  for (uint32_t y = 0; y < H; ++y) {
    const uint8_t *row = t.pixels + std::min(y, t.height - 1) * t.stride;
    for (uint32_t xx = 0; xx < W; ++xx) {
      const uint8_t *px = row + std::min(xx, t.width - 1) * t.bands;
      for (int c = 0; c < 3; ++c) x.plane(c)[size_t(y) * W + xx] = px[t.bands == 3 ? c : 0] * (1.0f / 255.0f) - 0.5f;
    }
  }
  return x;
}

std::vector<Planes> TileCodec::latent_shapes(uint32_t W, uint32_t H) const {
  const ModelConfig &c = context_.config();
  std::vector<Planes> out(c.latent_count());
  for (int l = 0; l < c.latent_count(); ++l) {
    out[l].channels = c.latent_channels(l);
    out[l].height = int(H >> c.latent_shift(l));
    out[l].width = int(W >> c.latent_shift(l));
  }
  return out;
}

std::vector<uint8_t> TileCodec::encode(const TileImage &tile, uint32_t quality_centi, int effort,
                                       const ThreadShare *share) const {
  Planes x = to_planes(tile);
  if (effort != 3) return encode_planes(std::move(x), tile, quality_centi, effort, share);
  Planes decoded;
  encode_planes(Planes(x), tile, quality_centi, effort, share, &decoded);
  correct_edges(x, decoded, tile);
  return encode_planes(std::move(x), tile, quality_centi, effort, share);
}

std::vector<uint8_t> TileCodec::encode_planes(Planes x, const TileImage &tile, uint32_t quality_centi, int effort,
                                              const ThreadShare *share, Planes *decoded) const {
  std::vector<Planes> latents;
  {
    engine::ScratchScope scratch;
    engine::ThreadsScope helpers(share);
    latents = network_.analysis(effort >= 4 ? Planes(x) : std::move(x));
  }
  if (effort >= 4) return encode_annealed(std::move(latents), x, tile, quality_centi, effort, share);
  return encode_latents(std::move(latents), tile, quality_centi, effort, share, decoded);
}

// Annealing minimises a relaxed cost (relaxed_coding.h: Gaussian bits,
// float nets, some contexts held), not the coder's, and stops after a set
// number of steps: efforts 4 and 5 keep whichever payload has the lower bits +
// lambda x squared error, decoded as a decoder will. (Before the context
// nets' gradients, annealing lost on smooth content at low qualities: a
// 128 x 96 crop of kodim23's background at model quality 20 kept effort
// 2's payload; now annealing wins there too.)
std::vector<uint8_t> TileCodec::encode_annealed(std::vector<Planes> latents, const Planes &x, const TileImage &tile,
                                                uint32_t quality_centi, int effort, const ThreadShare *share) const {
  const double lambda = annealing_lambda(quality_centi);
  const bool grey = tile.bands == 1;
  // Per pixel: the squared error of each plane, or of their mean for grey
  // (what decode() makes of a grey tile), over the real pixels.
  auto cost = [&](const std::vector<uint8_t> &payload, const Planes &decoded) {
    double se = 0;
    for (uint32_t y = 0; y < tile.height; ++y)
      for (uint32_t i = 0; i < tile.width; ++i) {
        const size_t at = size_t(y) * size_t(x.width) + i;
        if (grey) {
          const double d = (double(decoded.plane(0)[at]) + decoded.plane(1)[at] + decoded.plane(2)[at]) / 3.0 -
                           x.plane(0)[at];
          se += 3.0 * d * d;
          continue;
        }
        for (int c = 0; c < 3; ++c) {
          const double d = double(decoded.plane(c)[at]) - x.plane(c)[at];
          se += d * d;
        }
      }
    const double pixels = double(tile.width) * tile.height;
    return 8.0 * double(payload.size()) / pixels + lambda * 255.0 * 255.0 * se / (3.0 * pixels);
  };
  Planes plain_image, annealed_image;
  std::vector<uint8_t> plain = encode_latents(latents, tile, quality_centi, 2, share, &plain_image);
  {
    engine::ScratchScope scratch;
    engine::ThreadsScope helpers(share);
    latents = anneal(std::move(latents), x, tile, quality_centi, effort, share);
  }
  // The annealing has weighed each latent's bits already; effort 2's
  // rounding for rate on top of that gave back some of its gain (six
  // 256-px Kodak crops, effort 4, BD-rate in PSNR against effort 2, as
  // bench/refinement.py reports it: -8.38% with effort 2's lambda, -8.55%
  // with 3/4 of it, -8.65% with half, -8.72% with a quarter, -8.73% to
  // the nearest step).
  std::vector<uint8_t> annealed = code_latents(std::move(latents), tile, quality_centi, 2,
                                               entropy::Rounding::nearest(), share, &annealed_image);
  return cost(annealed, annealed_image) < cost(plain, plain_image) ? annealed : plain;
}

std::vector<Planes> TileCodec::anneal(std::vector<Planes> latents, const Planes &x, const TileImage &tile,
                                      uint32_t quality_centi, int effort, const ThreadShare *share) const {
  // What encode_latents() at effort 2 codes them with.
  const entropy::QualityGains gains = context_.gains(quality_centi);
  const uint8_t sides = boosted_sides(tile, 2), boost = sides ? border_boost_eighths(quality_centi) : 0;
  const entropy::QualityGains boosted = sides ? boost_gains(quality_centi, boost) : entropy::QualityGains{};
  const int parts = entropy::coding_parts(x.height);
  const entropy::Rounding rounding = entropy::Rounding::for_quality(quality_centi);
  RelaxedCoding coding(network_, context_, latents, gains, entropy::BorderBoost{&boosted, sides}, parts, rounding, share);
  return anneal_latents(network_, coding, std::move(latents), x, int(tile.width), int(tile.height),
                        tile.bands == 1, gains.gain, annealing_lambda(quality_centi),
                        annealing_settings(effort));
}

std::vector<uint8_t> TileCodec::encode_latents(std::vector<Planes> latents, const TileImage &tile,
                                               uint32_t quality_centi, int effort, const ThreadShare *share,
                                               Planes *decoded) const {
  const entropy::Rounding rounding =
      effort >= 2 ? entropy::Rounding::for_quality(quality_centi) : entropy::Rounding::nearest();
  return code_latents(std::move(latents), tile, quality_centi, effort, rounding, share, decoded);
}

std::vector<uint8_t> TileCodec::code_latents(std::vector<Planes> latents, const TileImage &tile,
                                             uint32_t quality_centi, int effort, entropy::Rounding rounding,
                                             const ThreadShare *share, Planes *decoded) const {
  const ModelConfig &c = context_.config();
  if (int(latents.size()) != c.latent_count()) throw Error(MSIC_ERR_ARGUMENT, "latents: not the model's count");
  const uint32_t W = uint32_t(latents[0].width) << c.latent_shift(0),
                 H = uint32_t(latents[0].height) << c.latent_shift(0);
  if (W % tile_multiple_ || H % tile_multiple_) throw Error(MSIC_ERR_ARGUMENT, "latents: not the model's shapes");
  const std::vector<Planes> shapes = latent_shapes(W, H);
  for (size_t l = 0; l < latents.size(); ++l)
    if (latents[l].channels != shapes[l].channels || latents[l].width != shapes[l].width ||
        latents[l].height != shapes[l].height)
      throw Error(MSIC_ERR_ARGUMENT, "latents: not the model's shapes");
  // The coded size is the tile's rounded up to the multiple (what a decoder checks).
  if ((tile.width + tile_multiple_ - 1) / tile_multiple_ * tile_multiple_ != W ||
      (tile.height + tile_multiple_ - 1) / tile_multiple_ * tile_multiple_ != H)
    throw Error(MSIC_ERR_ARGUMENT, "latents: not of the tile's coded size");
  const entropy::QualityGains gains = context_.gains(quality_centi);
  const uint8_t sides = boosted_sides(tile, effort), boost = sides ? border_boost_eighths(quality_centi) : 0;
  const entropy::QualityGains boosted = sides ? boost_gains(quality_centi, boost) : entropy::QualityGains{};
  // What the decoder will make of it, without decoding the stream: the
  // coder hands back the latents the decoder will read, and the synthesis
  // runs on them as they come when the context needs it (synthesis_context).
  std::vector<Planes> dequantized;
  const bool synthesis_context = context_.config().synthesis_context != 0;
  engine::ScratchScope scratch;
  engine::ThreadsScope helpers(share);
  engine::IncrementalSynthesis synthesis(network_, context_.config(), dequantized, gains.gain);
  std::vector<uint8_t> out;
  {
    // One rANS stream per part (coding_schedule.h), finished side by side.
    std::vector<entropy::RansEncoder> parts(static_cast<size_t>(entropy::coding_parts(int(H))));
    context_.encode(latents, gains, parts, rounding, decoded || synthesis_context ? &dequantized : nullptr, share,
                    entropy::BorderBoost{&boosted, sides}, continued_half(synthesis));
    latents.clear();
    std::vector<std::vector<uint8_t>> streams(parts.size());
    TilePayloadHeader header;
    for (const entropy::RansEncoder &p : parts) header.escapes += p.escapes();
    parallel_for(parts.size(), share ? share->for_one_item() : 1, [&](size_t j) { streams[j] = parts[j].finish(); });
    header.grey = tile.bands == 1;
    header.boosted_sides = sides;
    header.boost_eighths = boost;
    header.coded_width = W;
    header.coded_height = H;
    header.pad_right = W - tile.width;
    header.pad_bottom = H - tile.height;
    size_t total = 0;
    for (const std::vector<uint8_t> &s : streams) header.part_sizes.push_back(uint32_t(s.size())), total += s.size();
    out.reserve(header.size() + total);
    header.append_to(out);
    for (const std::vector<uint8_t> &s : streams) out.insert(out.end(), s.begin(), s.end());
  }
  if (decoded) {
    *decoded = synthesis.finish();
    network_.postfilter(*decoded);
  }
  return out;
}

entropy::QualityGains TileCodec::boost_gains(uint32_t quality_centi, uint8_t eighths) const {
  return context_.gains(quality_centi, int32_t(eighths) << 13);  // eighths of 1 << 16
}

// The coded area's outermost pixels decode worse than the rest (the nets
// see zeros beyond them), which shows as a seam where tiles meet. Moving
// those input pixels by half their error after a first pass lowers it
// further than the border boost alone (bench/seams.py, 6 Kodak images,
// 512- and 256-px tiles, Q0-75, with the boost: border / other MSE
// 0.69-0.78 against effort 2's 0.87-0.98 on all 24, the step across a
// border 0.83-1.08 against 1.05-1.27), for +0.26% BD-rate on Kodak and 2x
// the encoding time. Before the boost it was the only remedy: 1.10-1.17
// -> 0.84-0.94 for the border pixels. 0.3 left more of it at low
// qualities, 0.7 overshot at high ones, and a wider ring or a second pass
// pushed more of the error inward. Only edges that are real pixels:
// behind edge padding the tile's last row or column is not at the coded
// edge.
void TileCodec::correct_edges(Planes &x, const Planes &decoded, const TileImage &tile) const {
  constexpr float kPart = 0.5f;
  const int W = x.width, w = int(tile.width), h = int(tile.height);  // coded, real
  const bool right = w == W, bottom = h == x.height;
  auto correct = [&](int c, int y, int xx) {
    const size_t i = size_t(y) * W + xx;
    x.plane(c)[i] = x.plane(c)[i] + kPart * (x.plane(c)[i] - decoded.plane(c)[i]);
  };
  for (int c = 0; c < x.channels; ++c) {  // the real pixels of the coded edges
    for (int xx = 0; xx < w; ++xx) {
      correct(c, 0, xx);
      if (bottom && h > 1) correct(c, h - 1, xx);
    }
    for (int y = 1; y < h - (bottom ? 1 : 0); ++y) {
      correct(c, y, 0);
      if (right && w > 1) correct(c, y, w - 1);
    }
  }
}

Planes TileCodec::reconstruct(const TilePayloadHeader &header, const std::vector<uint8_t> &payload,
                              uint32_t quality_centi, const ThreadShare *share) const {
  std::vector<entropy::RansDecoder> parts;
  size_t at = header.size();
  for (const uint32_t size : header.part_sizes) {
    parts.emplace_back(payload.data() + at, size);
    at += size;
  }
  std::vector<Planes> latents = latent_shapes(header.coded_width, header.coded_height);
  const entropy::QualityGains gains = context_.gains(quality_centi);
  const entropy::QualityGains boosted =
      header.boosted_sides ? boost_gains(quality_centi, header.boost_eighths) : entropy::QualityGains{};
  engine::ScratchScope scratch;
  engine::ThreadsScope helpers(share);
  engine::IncrementalSynthesis synthesis(network_, context_.config(), latents, gains.gain);
  context_.decode(latents, gains, parts, share, entropy::BorderBoost{&boosted, header.boosted_sides},
                  continued_half(synthesis));
  uint64_t escapes = 0;
  for (const entropy::RansDecoder &p : parts) {
    if (!p.finished_cleanly()) throw Error(MSIC_ERR_FORMAT, "corrupt tile (entropy stream mismatch)");
    escapes += p.escapes();
  }
  if (escapes != header.escapes) throw Error(MSIC_ERR_FORMAT, "corrupt tile (entropy stream mismatch)");
  Planes x = synthesis.finish();
  network_.postfilter(x);
  return x;
}

entropy::ContinuedHalf TileCodec::continued_half(engine::IncrementalSynthesis &synthesis) const {
  if (!context_.config().synthesis_context) return {};
  return [&synthesis](int latent) -> const Planes & { return synthesis.continued(latent); };
}

void TileCodec::decode(const std::vector<uint8_t> &payload, uint32_t width, uint32_t height, uint32_t bands,
                       uint32_t quality_centi, uint8_t *out, size_t stride, const ThreadShare *share) const {
  const TilePayloadHeader header = TilePayloadHeader::parse(payload.data(), payload.size());
  header.check_tile(width, height, bands, tile_multiple_);
  const Planes x = reconstruct(header, payload, quality_centi, share);
  const size_t W = size_t(x.width);
  for (uint32_t y = 0; y < height; ++y) {
    uint8_t *row = out + y * stride;
    const size_t at = y * W;
    for (uint32_t xx = 0; xx < width; ++xx) {
      if (bands == 3) {
        for (int c = 0; c < 3; ++c) row[xx * 3 + c] = uint8_t(to_byte_scale(x.plane(c)[at + xx]));
      } else {
        // Grey was coded as R = G = B; the mean of the three is the best guess.
        const float s = to_byte_scale(x.plane(0)[at + xx]) + to_byte_scale(x.plane(1)[at + xx]) +
                        to_byte_scale(x.plane(2)[at + xx]);
        row[xx] = uint8_t(round_even(s / 3.0f));  // s / 3 is in [0, 255]
      }
    }
  }
}

std::vector<float> TileCodec::round_trip_unquantized(const TileImage &tile) const {
  engine::ScratchScope scratch;
  const Planes y = network_.synthesis(network_.analysis(to_planes(tile)));
  std::vector<float> out;
  out.reserve(size_t(tile.width) * tile.height * 3);
  for (uint32_t r = 0; r < tile.height; ++r)
    for (uint32_t c = 0; c < tile.width; ++c)
      for (int ch = 0; ch < 3; ++ch) out.push_back((y.plane(ch)[size_t(r) * y.width + c] + 0.5f) * 255.0f);
  return out;
}

// Measured: peak RSS of `msic decode --threads 1` on one-tile files grows by
// 50 bytes per pixel from 512 to 1024-px tiles and by 53 from 1024 to 2048
// (the engine's planes at full resolution, each released when dead; the
// couplings' nets, a band of rows at a time; the convolutions' reused
// buffers). It was 67 and 74 before the couplings went by bands.
uint64_t TileCodec::decode_bytes_per_pixel() const { return 58; }

}  // namespace msic
