// The header of a tile payload of tile_codec 1 (MSIC.md, "Tile payload"):
// what a decoder checks before it trusts the entropy streams, and where
// each part's stream lies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace msic::format {

struct TilePayloadHeader {
  // Version 2 records the padding, which binds a payload to its tile's
  // real size; version 1 (written before) has zeros there. Version 3 holds
  // the symbols in 2 .. kMaxParts parts, each its own stream after a table
  // of their sizes; a payload of one part is written as version 2.
  // Version 4 (format 1.5) adds a border boost: finer steps on the latents'
  // outer ring on the sides where the tile meets another (1 .. kMaxParts
  // parts).
  static constexpr uint8_t kVersion = 4;
  static constexpr size_t kOnePartSize = 12;  // the header of versions 1 and 2
  static constexpr size_t kMaxParts = 16;
  static constexpr uint8_t kSideLeft = 1, kSideTop = 2, kSideRight = 4, kSideBottom = 8;
  static constexpr uint8_t kMaxBoost = 40;  // 2^5: far past any use, and gains stay in int32
  uint8_t version = kVersion;    // as parsed; append_to() writes 2 or 3 by the parts
  bool grey = false;             // coded as R = G = B
  uint32_t coded_width = 0;      // the tile padded to the model's multiple
  uint32_t coded_height = 0;
  uint32_t pad_right = 0;        // coded_width - the tile's width (versions 2, 3)
  uint32_t pad_bottom = 0;
  uint32_t escapes = 0;          // escaped symbols in all parts
  uint8_t boosted_sides = 0;     // version 4: kSide* bits; 0: no boost (versions 1 .. 3)
  uint8_t boost_eighths = 0;     // version 4: the boost, log2 of its gain factor in eighths (1 .. kMaxBoost)
  std::vector<uint32_t> part_sizes;  // bytes of each part's stream, in order

  // Throws Error(MSIC_ERR_FORMAT) unless the header fits a tile of
  // width x height coded with padding to `multiple`.
  void check_tile(uint32_t width, uint32_t height, uint32_t bands, uint32_t multiple) const;

  // Bytes before the first part's stream.
  size_t size() const;
  // Appends the header to `out`: version 4 with a border boost, else 2 for
  // one part and 3 for more (coded sizes must fit 16 bits).
  void append_to(std::vector<uint8_t> &out) const;
  // Parses and checks the header of `payload`, and that its parts' streams
  // fill the rest; throws Error(MSIC_ERR_FORMAT).
  static TilePayloadHeader parse(const uint8_t *payload, size_t size);
};

}  // namespace msic::format
