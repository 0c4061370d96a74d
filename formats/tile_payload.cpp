#include "tile_payload.h"

#include <string>

#include "byte_order.h"
#include "errors.h"

namespace msic::format {

namespace {
constexpr uint8_t kFlagGrey = 1;
// Versions 3 and 4: the part sizes, after the count and three bytes (zero
// in version 3; version 4: the boosted sides, the boost, zero).
constexpr size_t kPartTableAt = 16;
constexpr uint8_t kAllSides = TilePayloadHeader::kSideLeft | TilePayloadHeader::kSideTop |
                              TilePayloadHeader::kSideRight | TilePayloadHeader::kSideBottom;
}

size_t TilePayloadHeader::size() const {
  return boosted_sides || part_sizes.size() > 1 ? kPartTableAt + 4 * part_sizes.size() : kOnePartSize;
}

void TilePayloadHeader::append_to(std::vector<uint8_t> &out) const {
  if (coded_width > 0xffff || coded_height > 0xffff || pad_right > 0xff || pad_bottom > 0xff)
    throw Error(MSIC_ERR_INTERNAL, "tile too large for its payload header");
  if (part_sizes.empty() || part_sizes.size() > kMaxParts)
    throw Error(MSIC_ERR_INTERNAL, "a tile payload holds 1 .. 16 parts");
  if ((boosted_sides & ~kAllSides) || (boosted_sides && (boost_eighths < 1 || boost_eighths > kMaxBoost)))
    throw Error(MSIC_ERR_INTERNAL, "bad border boost");
  const bool table = boosted_sides || part_sizes.size() > 1;
  std::vector<uint8_t> h(size(), 0);
  h[0] = boosted_sides ? 4 : table ? 3 : 2;
  h[1] = uint8_t(grey ? kFlagGrey : 0);
  store_le16(&h[2], uint16_t(coded_width));
  store_le16(&h[4], uint16_t(coded_height));
  h[6] = uint8_t(pad_right);
  h[7] = uint8_t(pad_bottom);
  store_le32(&h[8], escapes);
  if (table) {
    h[12] = uint8_t(part_sizes.size());
    h[13] = boosted_sides;
    h[14] = boosted_sides ? boost_eighths : 0;
    for (size_t j = 0; j < part_sizes.size(); ++j) store_le32(&h[kPartTableAt + 4 * j], part_sizes[j]);
  }
  out.insert(out.end(), h.begin(), h.end());
}

TilePayloadHeader TilePayloadHeader::parse(const uint8_t *p, size_t size) {
  const auto bad = [](const char *what) {
    return Error(MSIC_ERR_FORMAT, std::string("corrupt tile (") + what + ")");
  };
  if (size >= 1 && p[0] > kVersion)
    throw Error(MSIC_ERR_VERSION, "unknown tile payload version " + std::to_string(p[0]) +
                                      " (a newer MSIC wrote this file)");
  if (size < kOnePartSize || p[0] < 1 || (p[1] & ~kFlagGrey) || (p[0] == 1 && load_le16(p + 6) != 0))
    throw bad("bad payload header");
  TilePayloadHeader h;
  h.version = p[0];
  h.grey = p[1] & kFlagGrey;
  h.coded_width = load_le16(p + 2);
  h.coded_height = load_le16(p + 4);
  h.pad_right = p[6];
  h.pad_bottom = p[7];
  h.escapes = load_le32(p + 8);
  if (h.version < 3) {
    h.part_sizes = {uint32_t(size - kOnePartSize)};  // a payload's size fits its index entry's 32 bits
    return h;
  }
  if (size < kPartTableAt || p[12] < (h.version == 3 ? 2 : 1) || p[12] > kMaxParts || p[15])
    throw bad("bad part count");
  if (h.version == 3 && (p[13] || p[14])) throw bad("bad part count");
  if (h.version == 4) {
    if (!p[13] || (p[13] & ~kAllSides) || p[14] < 1 || p[14] > kMaxBoost) throw bad("bad border boost");
    h.boosted_sides = p[13];
    h.boost_eighths = p[14];
  }
  const size_t parts = p[12];
  if (size < kPartTableAt + 4 * parts) throw bad("part table cut short");
  uint64_t total = kPartTableAt + 4 * parts;
  for (size_t j = 0; j < parts; ++j) {
    const uint32_t n = load_le32(p + kPartTableAt + 4 * j);
    if (n < 8 || n % 4) throw bad("bad part size");
    h.part_sizes.push_back(n);
    total += n;
  }
  if (total != size) throw bad("parts do not fill the payload");
  return h;
}

void TilePayloadHeader::check_tile(uint32_t width, uint32_t height, uint32_t bands, uint32_t multiple) const {
  const uint32_t w = (width + multiple - 1) / multiple * multiple, h = (height + multiple - 1) / multiple * multiple;
  bool fits = coded_width == w && coded_height == h && grey == (bands == 1);
  // Version 2 also says how much of the coded area is padding, so a header
  // whose size was raised inside the padding does not decode padding as image.
  if (version >= 2) fits = fits && pad_right == w - width && pad_bottom == h - height;
  if (!fits) throw Error(MSIC_ERR_FORMAT, "corrupt tile (payload does not match the tile size)");
}

}  // namespace msic::format
