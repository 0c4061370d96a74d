#include "tile_payload.h"

#include "byte_order.h"
#include "errors.h"

namespace msic::format {

namespace {
constexpr uint8_t kFlagGrey = 1;
}

void TilePayloadHeader::append_to(std::vector<uint8_t> &out) const {
  if (coded_width > 0xffff || coded_height > 0xffff || pad_right > 0xff || pad_bottom > 0xff)
    throw Error(MSIC_ERR_INTERNAL, "tile too large for its payload header");
  uint8_t h[kSize] = {kVersion, uint8_t(grey ? kFlagGrey : 0)};
  store_le16(h + 2, uint16_t(coded_width));
  store_le16(h + 4, uint16_t(coded_height));
  h[6] = uint8_t(pad_right);
  h[7] = uint8_t(pad_bottom);
  store_le32(h + 8, escapes);
  out.insert(out.end(), h, h + kSize);
}

TilePayloadHeader TilePayloadHeader::parse(const uint8_t *p, size_t size) {
  if (size < kSize || p[0] < 1 || p[0] > kVersion || (p[1] & ~kFlagGrey) || (p[0] == 1 && load_le16(p + 6) != 0))
    throw Error(MSIC_ERR_FORMAT, "corrupt tile (bad payload header)");
  TilePayloadHeader h;
  h.version = p[0];
  h.grey = p[1] & kFlagGrey;
  h.coded_width = load_le16(p + 2);
  h.coded_height = load_le16(p + 4);
  h.pad_right = p[6];
  h.pad_bottom = p[7];
  h.escapes = load_le32(p + 8);
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
