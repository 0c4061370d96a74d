// Codes one tile: pixels <-> payload. The network runs on the inference
// engine (engine/), the latents are coded by the integer context model
// (entropy/); no LibTorch. The same bits on every machine and build.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/network_engine.h"
#include "msic/msic.h"
#include "entropy/context_model.h"
#include "model_file.h"
#include "parallel.h"
#include "tile_payload.h"

namespace msic {

struct TileImage {
  const uint8_t *pixels;  // interleaved, `bands` bytes per pixel
  size_t stride;
  uint32_t width, height, bands;
  // The sides where the tile meets another tile of its image
  // (format::TilePayloadHeader::kSide* bits): effort 2 and up code the
  // latents there with the border boost.
  uint8_t inner_sides = 0;
};

class TileCodec {
 public:
  explicit TileCodec(const ModelFile &model);  // throws Error
  // With the model's context model, already made from it.
  TileCodec(const ModelFile &model, entropy::ContextModel context);

  // effort: MSIC_ENCODER_EFFORT's (1 .. MSIC_EFFORT_MAX). share: the
  // threads the network's convolutions may use (parallel.h; none: the
  // calling thread); the bytes and pixels do not depend on it.
  std::vector<uint8_t> encode(const TileImage &tile, uint32_t quality_centi, int effort = MSIC_EFFORT_DEFAULT,
                              const ThreadShare *share = nullptr) const;
  // Codes latents made elsewhere (the analysis's, moved: what a refinement
  // by gradients, latent_refinement.h, makes), as encode() codes its own
  // up to effort 2 (efforts 3 and up change the pixels or latents before
  // this: here they code as effort 2); `tile` gives the size, bands and sides, not pixels. Throws
  // Error if the latents are not the model's for the tile's coded size.
  std::vector<uint8_t> encode_latents(std::vector<Planes> latents, const TileImage &tile, uint32_t quality_centi,
                                      int effort = MSIC_EFFORT_DEFAULT, const ThreadShare *share = nullptr,
                                      Planes *decoded = nullptr) const;
  // Decodes into out (width x height x bands); throws Error on corrupt data.
  void decode(const std::vector<uint8_t> &payload, uint32_t width, uint32_t height, uint32_t bands,
              uint32_t quality_centi, uint8_t *out, size_t stride, const ThreadShare *share = nullptr) const;
  // Without quantization: analysis then synthesis (tests invertibility);
  // interleaved like the input, on the 0..255 scale, unrounded.
  std::vector<float> round_trip_unquantized(const TileImage &tile) const;
  // Working memory of one decode, in bytes per pixel of the tile: what a
  // reader reserves from its context's memory budget before decoding.
  uint64_t decode_bytes_per_pixel() const;

 private:
  // The tile edge-replicated to whole tile multiples, 3 planes in
  // [-0.5, 0.5] (grey as R = G = B).
  Planes to_planes(const TileImage &tile) const;
  std::vector<Planes> latent_shapes(uint32_t coded_width, uint32_t coded_height) const;
  // The gains of a border boost of `eighths` (a payload's boost_eighths).
  entropy::QualityGains boost_gains(uint32_t quality_centi, uint8_t eighths) const;
  // encode_latents() with the border boost of `effort` and each symbol
  // rounded by `rounding`.
  std::vector<uint8_t> code_latents(std::vector<Planes> latents, const TileImage &tile, uint32_t quality_centi,
                                    int effort, entropy::Rounding rounding, const ThreadShare *share,
                                    Planes *decoded) const;
  // decoded: if given, receives reconstruct()'s image of the payload.
  std::vector<uint8_t> encode_planes(Planes x, const TileImage &tile, uint32_t quality_centi, int effort,
                                     const ThreadShare *share, Planes *decoded = nullptr) const;
  // The decoder's image of a payload (its parsed header), before the
  // pixels are rounded.
  Planes reconstruct(const format::TilePayloadHeader &header, const std::vector<uint8_t> &payload,
                     uint32_t quality_centi, const ThreadShare *share) const;
  // What the context model asks the synthesis for between latents (a
  // model with synthesis_context; none without).
  entropy::ContinuedHalf continued_half(engine::IncrementalSynthesis &synthesis) const;
  // Efforts 4 and 5: the payload of latents moved by anneal() or effort
  // 2's, whichever costs less.
  std::vector<uint8_t> encode_annealed(std::vector<Planes> latents, const Planes &x, const TileImage &tile,
                                       uint32_t quality_centi, int effort, const ThreadShare *share) const;
  // The analysis's latents of x moved by annealing (latent_annealing.h:
  // the effort's steps), for the coding of effort 2.
  std::vector<Planes> anneal(std::vector<Planes> latents, const Planes &x, const TileImage &tile,
                             uint32_t quality_centi, int effort, const ThreadShare *share) const;
  // Effort 3: moves the coded area's outermost pixels of x against the
  // error the first pass left there.
  void correct_edges(Planes &x, const Planes &decoded, const TileImage &tile) const;

  engine::NetworkEngine network_;
  entropy::ContextModel context_;
  uint32_t tile_multiple_;
};

}  // namespace msic
