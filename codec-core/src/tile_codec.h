// Codes one tile: the network plus the entropy model. LibTorch stays inside
// tile_codec.cpp, which is built into its own library (libmsic-codec) that
// libmsic loads on the first encode or decode, so that programs which only
// load the plugins (every vips and GDAL command) never pay for LibTorch.
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
  virtual ~TileCodec() = default;
  virtual std::vector<uint8_t> encode(const TileImage &tile, uint32_t quality_centi) const = 0;
  // Decodes into out (width x height x bands); throws Error on corrupt data.
  virtual void decode(const std::vector<uint8_t> &payload, uint32_t width, uint32_t height, uint32_t bands,
                      uint32_t quality_centi, uint8_t *out, size_t stride) const = 0;
  // Without quantization: analysis then synthesis (tests invertibility).
  virtual std::vector<float> round_trip_unquantized(const TileImage &tile) const = 0;
  // Working memory of one decode, in bytes per pixel of the tile: what a
  // reader reserves from its context's memory budget before decoding.
  virtual uint64_t decode_bytes_per_pixel() const = 0;

  static std::unique_ptr<TileCodec> create(const ModelFile &model);  // throws Error
};

// The one symbol libmsic-codec exports: returns a new TileCodec, or NULL
// with a message in `error` (C linkage: found with dlsym).
extern "C" typedef TileCodec *(*TileCodecFactory)(const ModelFile *model, char *error, size_t error_size);
#define MSIC_TILE_CODEC_FACTORY "msic_tile_codec_create"

}  // namespace msic
