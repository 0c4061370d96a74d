// The 12-byte header of a tile payload of tile_codec 1 (MSIC.md, "Tile
// payload"): what a decoder checks before it trusts the entropy stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace msic::format {

struct TilePayloadHeader {
  // Version 2 records the padding, which binds a payload to its tile's
  // real size; version 1 (written before) has zeros there.
  static constexpr uint8_t kVersion = 2;
  static constexpr size_t kSize = 12;
  uint8_t version = kVersion;
  bool grey = false;             // coded as R = G = B
  uint32_t coded_width = 0;      // the tile padded to the model's multiple
  uint32_t coded_height = 0;
  uint32_t pad_right = 0;        // coded_width - the tile's width (version 2)
  uint32_t pad_bottom = 0;
  uint32_t escapes = 0;          // escaped symbols in the stream

  // Throws Error(MSIC_ERR_FORMAT) unless the header fits a tile of
  // width x height coded with padding to `multiple`.
  void check_tile(uint32_t width, uint32_t height, uint32_t bands, uint32_t multiple) const;

  // Appends the header to `out` (coded sizes must fit 16 bits).
  void append_to(std::vector<uint8_t> &out) const;
  // Parses and checks the header of `payload`; throws Error(MSIC_ERR_FORMAT).
  static TilePayloadHeader parse(const uint8_t *payload, size_t size);
};

}  // namespace msic::format
