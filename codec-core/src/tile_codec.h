// Codes one tile: the network plus the entropy model. LibTorch stays inside
// tile_codec.cpp; callers see bytes and pixels only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "model_file.h"

namespace msic {

struct TileImage {
  const uint8_t *pixels;  // interleaved, `bands` bytes per pixel
  size_t stride;
  uint32_t width, height, bands;
};

class TileCodec {
 public:
  explicit TileCodec(const ModelFile &model);  // throws Error
  ~TileCodec();
  std::vector<uint8_t> encode(const TileImage &tile, uint32_t quality_centi) const;
  // Decodes into out (width x height x bands); throws Error on corrupt data.
  void decode(const std::vector<uint8_t> &payload, uint32_t width, uint32_t height, uint32_t bands,
              uint32_t quality_centi, uint8_t *out, size_t stride) const;
  // Without quantization: analysis then synthesis (tests invertibility).
  std::vector<float> round_trip_unquantized(const TileImage &tile) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace msic
